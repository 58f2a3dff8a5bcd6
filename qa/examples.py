"""Example questions made from the indexed text itself.

A chat page that has not been asked anything yet should show what its documents are about
and what a question looks like. The questions here are built from the opening lines of the
indexed documents (the names and phrases those lines contain), never from a fixed list, so
they fit whatever corpus is indexed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from qa.names import Name, Token, is_title_word, tokenize
from qa.names import names as find_names
from qa.text import STOPWORDS

# A topic phrase of plain words: two adjacent lowercase words of at least this many letters.
_MIN_WORD = 3
_WORD = re.compile(r"^[a-z][a-z-]*[a-z]$")


def example_questions(openings: Mapping[str, Sequence[str]], limit: int = 3) -> list[str]:
    """Up to `limit` questions about what the documents name in their opening lines
    (`openings`: each document's first lines, in the order the documents should be drawn
    from). Each document gives its best topic before any gives a second, so the questions
    spread over the documents; a topic already asked about is not asked again."""
    ranked = [_topics(lines) for lines in openings.values()]
    questions: list[str] = []
    seen: set[str] = set()
    for rank in range(max((len(topics) for topics in ranked), default=0)):
        for topics in ranked:
            if rank >= len(topics):
                continue
            question, key = topics[rank]
            if key in seen:
                continue
            seen.add(key)
            questions.append(question)
            if len(questions) == limit:
                return questions
    return questions


def _topics(lines: Sequence[str]) -> list[tuple[str, str]]:
    """A document's askable topics, best first, each with the key that makes two topics the
    same: names of two or more words (a person's when a title stands before the name: "Who
    is …?"), then, one per line, the first phrase of two plain words ("the toll bridge")."""
    names: list[tuple[str, str]] = []
    phrases: list[tuple[str, str]] = []
    for line in lines:
        tokens = tokenize(line)
        for span in _names(line, tokens):
            ask = "Who is" if _titled(line, tokens, span) else "What do the sources say about"
            names.append((f"{ask} {span.text}?", _key(span.text)))
        phrase = next(
            (
                f"{first.text} {second.text}"
                for first, second in zip(tokens, tokens[1:], strict=False)
                if line[first.end : second.start] == " "
                and _plain(first.text)
                and _plain(second.text)
            ),
            None,
        )
        if phrase:  # the first: English puts the subject first ("the toll bridge … opened")
            phrases.append((f"What do the sources say about the {phrase}?", _key(phrase)))
    return names + phrases


def _plain(word: str) -> bool:
    """A lowercase word that says something (not a function word, not a bare number)."""
    return bool(_WORD.match(word)) and len(word) >= _MIN_WORD and word not in STOPWORDS


def _key(text: str) -> str:
    """ "J.D. Vance" and "JD Vance" are one topic."""
    return re.sub(r"[^a-z0-9 ]", "", text.lower())


def _names(line: str, tokens: list[Token]) -> list[Name]:
    """Names of two or more words, each without the titles in front of it ("President Jane
    Doe" gives "Jane Doe")."""
    best: dict[int, Name] = {}
    for span in find_names(line, tokens):
        if span.last == span.first or not span.text[:1].isalpha():
            continue
        kept = best.get(span.last)
        if kept is None or span.first > kept.first:
            best[span.last] = span
    return sorted(best.values(), key=lambda s: s.start)


def _titled(line: str, tokens: list[Token], span: Name) -> bool:
    """Is a title (an office, an honorific, a nationality) written right before the name?
    Then the name is a person's: "President Jane Doe", "the mayor, Jane Doe"."""
    if span.first == 0:
        return False
    before = tokens[span.first - 1]
    if line[before.end : span.start].strip(" ,"):
        return False
    return is_title_word(before.text.split("-")[-1])
