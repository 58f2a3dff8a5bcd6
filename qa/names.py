"""Names in a line of text: runs of capitalised words, and the titles written before them.

Used to make example questions from the indexed text. Written by hand: the only NER model
that ships inside a registry package (spaCy's en_core_web_sm) costs 50 ms a sentence and a
large dependency for what a page's three example questions need. The rules are general
English surface forms and know nothing about any corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.text import STOPWORDS

_TOKEN = re.compile(r"[$€£]?\w+(?:[.,'’\-–:/]\w+)*%?\.?", re.UNICODE)
# Honorifics and office titles written in front of a name ("President Jane Doe").
_TITLE_TEXT = """
president vice prime minister secretary chancellor deputy foreign mr mrs ms dr sir dame pope
king queen prince princess general gen col colonel captain lord lady senator governor mayor
judge justice rev reverend saint st chief ambassador commissioner spokesperson spokesman
spokeswoman professor prof minister chairman chairwoman chair director ceo
"""
_TITLES = frozenset(_TITLE_TEXT.split())
# Lowercase words that continue a name ("van der Waals", "Bank of England").
_NAME_JOINERS = frozenset(
    {"von", "van", "der", "de", "da", "di", "du", "la", "le", "bin", "al", "ibn", "del", "dos"}
    | {"of"}
)
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ian|ians|ean|eans|ese|ish|an|ans|i|is)$")
_CALENDAR = re.compile(
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
    r"april|may|june|july|august|september|october|november|december)",
    re.I,
)


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Name:
    """A name: its text, character offsets in the line, and the tokens it covers."""

    text: str
    start: int
    end: int
    first: int  # token index
    last: int  # token index, inclusive


def tokenize(line: str) -> list[Token]:
    tokens = []
    for m in _TOKEN.finditer(line):
        text = m.group(0)
        end = m.end()
        # A trailing full stop ends the sentence unless it is an initial ("J.D.").
        if text.endswith(".") and not re.fullmatch(r"(?:\w\.)+", text):
            text, end = text[:-1], end - 1
        if text:
            tokens.append(Token(text, m.start(), end))
    return tokens


def _capitalised(token: Token) -> bool:
    first = token.text.lstrip("$€£")[:1]
    return bool(first) and (first.isupper() or (first.isdigit() and "-" in token.text))


def _possessive(text: str) -> bool:
    return text.endswith(("’s", "'s")) and len(text) > 2


def _title(token: Token) -> bool:
    return token.text.lower().rstrip(".") in _TITLES


def _name(line: str, tokens: list[Token], first: int, last: int) -> Name:
    start, end = tokens[first].start, tokens[last].end
    if _possessive(tokens[last].text):  # "Norway's": the owner, without the 's
        end -= 2
    return Name(line[start:end], start, end, first, last)


def names(line: str, tokens: list[Token]) -> list[Name]:
    """Runs of capitalised words ("Ada Lovelace", "van der Waals"), each also without the
    titles in front of it ("President Jane Doe" gives both it and "Jane Doe")."""
    out: list[Name] = []
    i = 0
    while i < len(tokens):
        if not _capitalised(tokens[i]):
            i += 1
            continue
        last = i
        while last + 1 < len(tokens):
            nxt = tokens[last + 1]
            if line[tokens[last].end : nxt.start].strip():  # "Smith, Jones": two names
                break
            if _possessive(tokens[last].text):  # "Norway's Oslo": the owner ends the name
                break
            joined = (
                nxt.text.lower() in _NAME_JOINERS
                and last + 2 < len(tokens)
                and (
                    _capitalised(tokens[last + 2]) or tokens[last + 2].text.lower() in _NAME_JOINERS
                )
            )
            if not (_capitalised(nxt) or joined):
                break
            last += 1
        first = i
        # A capitalised function word at the start is sentence case, not a name.
        while first <= last and tokens[first].text.lower() in STOPWORDS:
            first += 1
        if first <= last:
            out.append(_name(line, tokens, first, last))
            # The name is what follows the last title word ("Acme Corp Chairman Jo Bloggs").
            titled = [k for k in range(first, last) if _title(tokens[k])]
            head = titled[-1] + 1 if titled else first
            while head < last and tokens[head].text.lower() in _NAME_JOINERS:
                head += 1
            if head != first:
                out.append(_name(line, tokens, head, last))
        i = last + 1
    return [n for n in out if not _CALENDAR.fullmatch(n.text)]


def is_title_word(word: str) -> bool:
    """An office, honorific or nationality word ("chancellor", "dr", "norwegian")."""
    return word.lower().rstrip(".") in _TITLES or bool(_DEMONYM.match(word.capitalize()))
