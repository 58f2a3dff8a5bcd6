"""Candidate short answers inside a line, by the kind of answer a question wants.

Hand-written because nothing installable does it offline: no extractive (SQuAD-style)
reader or NER model ships inside a registry package (shared/notes/offline-stack.md). The
rules are general English surface forms: numbers, dates, durations, capitalised names,
quotations. They know nothing about any corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from qa.questions import Kind, Question
from qa.text import STOPWORDS, stem

_TOKEN = re.compile(r"[$€£]?\w+(?:[.,'’\-–:/]\w+)*%?\.?", re.UNICODE)

_NUMBER_TEXT = """
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
hundred thousand million billion trillion dozen dozens hundreds thousands millions billions
tens scores half
"""
_NUMBER_WORDS = frozenset(_NUMBER_TEXT.split())
_SCALE = frozenset({"hundred", "thousand", "million", "billion", "trillion", "percent", "%"})
_TIME_UNITS = re.compile(
    r"^(?:second|minute|hour|day|week|fortnight|month|year|decade|century|centuries)s?$", re.I
)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_ORDINAL = (
    r"(?:\d{1,2}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
    r"tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|"
    r"eighteenth|nineteenth|twentieth|twenty-first)"
)
_YEAR = r"(?:1\d{3}|20\d\d)"
# Date forms, in the order they are looked for: a longer, more specific form first, and a
# shorter match inside one already found is dropped ("1294 to 1307" before "1294").
_DATE_FORMS: dict[str, re.Pattern[str]] = {
    "weekday": re.compile(rf"\b(?:{_WEEKDAYS})\b", re.I),
    "day-month": re.compile(
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\.?(?:\s+\d{{4}})?\b", re.I
    ),
    "month-day": re.compile(
        rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b", re.I
    ),
    "month-year": re.compile(rf"\b(?:{_MONTHS})\.?\s+\d{{4}}\b", re.I),
    "year-range": re.compile(
        rf"\b{_YEAR}\s*(?:–|—|-|to|until|and)\s*(?:{_YEAR}|\d\d)\b(?!\s*%)", re.I
    ),
    "year": re.compile(rf"\b{_YEAR}s?\b(?!\s*%)|\b\d{{1,4}}\s?(?:BC|BCE|AD)\b|\bAD\s?\d{{1,4}}\b"),
    "clock": re.compile(r"\b\d{1,2}(?::\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)", re.I),
    # not "today", which in most prose means "nowadays"
    "relative": re.compile(r"\b(?:yesterday|tomorrow|overnight|tonight)\b", re.I),
    "month": re.compile(rf"\b(?:{_MONTHS})\b", re.I),
    "part-of-day": re.compile(
        r"\b(?:noon|midday|midnight|dawn|dusk|daybreak|nightfall|night|morning|"
        r"afternoon|evening)\b",
        re.I,
    ),
    "century": re.compile(
        rf"\b(?:(?:early|mid|late)[\s-]+)?{_ORDINAL}(?:\s+(?:and|or|to)\s+{_ORDINAL})?\s+"
        r"centur(?:y|ies)(?:\s+(?:BC|AD|BCE|CE)\b)?",
        re.I,
    ),
}
_MONTH_WORD = re.compile(rf"^(?:{_MONTHS})$", re.I)
_DURATION = re.compile(
    r"\b(?:(?:about|around|nearly|almost|over|under|more than|less than|at least|roughly|some)"
    r"\s+)?(?:\d[\d,.]*|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"fifteen|twenty|thirty|forty|fifty|sixty|several|few)[\s-]+(?:(?:and\s+a\s+half|full)\s+)?"
    r"(?:seconds?|minutes?|hours?|days?|weeks?|fortnights?|months?|years?|decades?|centur(?:y|ies))"
    r"\b",
    re.I,
)
# "How long has X been Y?" is also answered by when it began ("since 1957", "since the
# 1950s", "since May 2001", "since at least the mid-14th century").
_SINCE = re.compile(
    rf"\bsince\s+(?:at\s+least\s+)?(?:the\s+)?(?:(?:early|mid|late)[\s-]+)?"
    rf"(?:(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?\s+\d{{4}}|\d{{4}}s?|\d{{1,2}}(?:st|nd|rd|th)\s+century)\b",
    re.I,
)
_QUOTE = re.compile(r"[“\"]([^”\"]{2,120})[”\"]")
# Honorifics and office titles stripped from the front of a name ("President Jane Doe").
_TITLE_TEXT = """
president vice prime minister secretary chancellor deputy foreign mr mrs ms dr sir dame pope
king queen prince princess general gen col colonel captain lord lady senator governor mayor
judge justice rev reverend saint st chief ambassador commissioner spokesperson spokesman
spokeswoman professor prof minister chairman chairwoman chair director ceo
"""
_TITLES = frozenset(_TITLE_TEXT.split())
_NAME_JOINERS = frozenset(
    {
        "von",
        "van",
        "der",
        "de",
        "da",
        "di",
        "du",
        "la",
        "le",
        "bin",
        "al",
        "ibn",
        "del",
        "dos",
        "of",
        "v",  # case names: "Commission v Austria", "Smith v. Jones"
        "v.",
        "vs",
        "vs.",
        "versus",
    }
)
# Prepositions that usually introduce a place, and how strongly.
PLACE_CUES = {
    "in": 1.0,
    "at": 1.0,
    "near": 1.0,
    "outside": 0.9,
    "inside": 0.9,
    "across": 0.8,
    "throughout": 0.8,
    "around": 0.7,
    "from": 0.7,
    "to": 0.6,
    "into": 0.7,
}


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Span:
    """A candidate answer: character offsets in the line and the tokens it covers."""

    text: str
    start: int
    end: int
    first: int  # token index
    last: int  # token index, inclusive
    prior: float = 1.0  # how typical this form is for the question kind


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


def _span(line: str, tokens: list[Token], first: int, last: int, prior: float = 1.0) -> Span:
    start, end = tokens[first].start, tokens[last].end
    return Span(line[start:end], start, end, first, last, prior)


def _char_span(line: str, tokens: list[Token], start: int, end: int, prior: float) -> Span | None:
    covered = [i for i, t in enumerate(tokens) if t.start < end and t.end > start]
    if not covered:
        return None
    return Span(line[start:end].strip(" ,.;:"), start, end, covered[0], covered[-1], prior)


def _is_number(text: str) -> bool:
    head = re.split(r"[-–]", text.lower(), maxsplit=1)[0]
    return any(c.isdigit() for c in text) or head in _NUMBER_WORDS


def number_spans(line: str, tokens: list[Token]) -> list[Span]:
    spans = []
    i = 0
    while i < len(tokens):
        tok = tokens[i].text
        if not _is_number(tok) or tok.lower() in ("half",):
            i += 1
            continue
        last = i
        while last + 1 < len(tokens):
            nxt = tokens[last + 1].text.lower()
            if nxt in _SCALE or (nxt in _NUMBER_WORDS and not _is_digit(tokens[last].text)):
                last += 1
            elif (  # "hundreds of millions", "dozens of thousands"
                nxt == "of"
                and last + 2 < len(tokens)
                and tokens[last + 2].text.lower() in _NUMBER_WORDS
            ):
                last += 2
            else:
                break
        prior = 1.0
        if re.match(r"[A-Za-z]+[-–]?\d", tok):
            prior = 0.2  # a designation ("F-16", "A380"), not a quantity
        elif re.fullmatch(r"\d{1,2}(?::\d\d)?(?:am|pm)", tok, re.I):
            prior = 0.1  # a clock time ("8am"), not a count
        elif re.fullmatch(r"(?:1[5-9]\d\d|20\d\d)", tok):
            prior = 0.5  # a bare year is rarely "how many"
        elif _MONTH_WORD.match(tokens[i - 1].text if i else "") or (
            i + 1 < len(tokens) and _MONTH_WORD.match(tokens[i + 1].text)
        ):
            prior = 0.3  # the day of a date
        elif not any(c.isdigit() for c in tok) and tok.lower() in ("one",):
            prior = 0.6  # "one of the..." is usually not a count
        if _opens_a_name(line, tokens, i, last):
            prior = 0.2  # "the Seven Years' War", "Three Gorges Dam": a name, not a count
        span = _span(line, tokens, i, last, prior)
        if upper := _range_end(tokens, i, last):  # "5,000 to 30,000", "between 3 and 14"
            spans.append(_span(line, tokens, i, upper, prior))
        # "43-year-old" answers "how old" with 43; keep the leading number alone too.
        lead = re.match(r"[$€£]?\d[\d,.]*|[a-z]+(?=[-–])", span.text, re.I)
        if lead and lead.end() < len(span.text) and span.text[lead.end()] in "-–":
            spans.append(Span(lead.group(0), span.start, span.start + lead.end(), i, i, prior))
        spans.append(span)
        i = last + 1
    return spans


def _opens_a_name(line: str, tokens: list[Token], first: int, last: int) -> bool:
    """A number word in capitals followed by a capitalised word begins a name ("Seven Years'
    War"), unless it opens a sentence ("Seven Britons died."), where capitals say nothing."""
    word = tokens[first].text
    if not (word.isalpha() and word[:1].isupper()) or last + 1 >= len(tokens):
        return False
    before = line[: tokens[first].start].rstrip(" “\"'‘(")
    if not before or before[-1] in ".!?:;":
        return False
    nxt = tokens[last + 1].text
    return nxt[:1].isupper() and nxt.isalpha() and nxt.lower() not in _NUMBER_WORDS


def _range_end(tokens: list[Token], first: int, last: int) -> int:
    """Where a range of numbers that starts here ends ("5,000 to 30,000"; "between 3 and
    14"), or 0 when it is not one."""
    if last + 2 >= len(tokens) or not _is_digit(tokens[first].text):
        return 0
    joiner = tokens[last + 1].text.lower()
    between = first > 0 and tokens[first - 1].text.lower() == "between"
    if (joiner == "to" or (joiner == "and" and between)) and re.fullmatch(
        r"[$€£]?\d[\d,.]*%?", tokens[last + 2].text
    ):
        return last + 2
    return 0


def _is_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def duration_spans(line: str, tokens: list[Token]) -> list[Span]:
    spans = []
    for pattern, prior in ((_DURATION, 1.0), (_SINCE, 0.9)):
        for m in pattern.finditer(line):
            span = _char_span(line, tokens, m.start(), m.end(), prior)
            if span:
                spans.append(span)
    return spans


# How well each date form suits a question that names its unit ("what year", "what day").
# "At what time" wants a clock time or a part of the day: a weekday alone does not answer it.
_DEFAULT_DATE_PRIORS = {
    "weekday": 1.0,
    "day-month": 1.0,
    "month-day": 1.0,
    "month-year": 1.0,
    "year-range": 0.9,
    "year": 0.9,
    "clock": 0.9,
    "relative": 0.8,
    "month": 0.6,
    "part-of-day": 0.3,
    "century": 0.9,
}
_FORMS = tuple(_DATE_FORMS)


def _priors(*values: float) -> dict[str, float]:
    return dict(zip(_FORMS, values, strict=True))


# columns: weekday, day-month, month-day, month-year, year-range, year, clock, relative,
# month, part-of-day, century
_UNIT_PRIORS = {
    "year": _priors(0.2, 0.6, 0.6, 0.9, 0.8, 1.0, 0.1, 0.2, 0.2, 0.1, 0.4),
    "day": _priors(1.0, 0.9, 0.9, 0.3, 0.1, 0.2, 0.3, 0.8, 0.2, 0.3, 0.1),
    "weekday": _priors(1.0, 0.6, 0.6, 0.2, 0.1, 0.1, 0.2, 0.5, 0.1, 0.2, 0.1),
    "date": _priors(0.7, 1.0, 1.0, 0.7, 0.5, 0.5, 0.3, 0.5, 0.4, 0.2, 0.3),
    "month": _priors(0.3, 0.8, 0.8, 1.0, 0.1, 0.3, 0.1, 0.2, 1.0, 0.1, 0.1),
    "time": _priors(0.2, 0.2, 0.2, 0.2, 0.1, 0.2, 1.0, 0.7, 0.1, 0.6, 0.1),
    "century": _priors(0.1, 0.2, 0.2, 0.3, 0.4, 0.6, 0.1, 0.1, 0.1, 0.1, 1.0),
}


def date_spans(line: str, tokens: list[Token], unit: str = "") -> list[Span]:
    priors = _UNIT_PRIORS.get(unit, _DEFAULT_DATE_PRIORS)
    found: dict[tuple[int, int], Span] = {}
    for form, pattern in _DATE_FORMS.items():
        for m in pattern.finditer(line):
            if any(s <= m.start() and m.end() <= e for (s, e) in found):
                continue
            span = _char_span(line, tokens, m.start(), m.end(), priors[form])
            if span:
                found[(m.start(), m.end())] = span
    return list(found.values())


def _capitalised(token: Token) -> bool:
    first = token.text.lstrip("$€£")[:1]
    return bool(first) and (first.isupper() or (first.isdigit() and "-" in token.text))


def name_spans(line: str, tokens: list[Token]) -> list[Span]:
    """Runs of capitalised words ("Ada Lovelace", "van der Waals", "Boeing 747"), with
    titles also stripped off the front as a second candidate."""
    spans = []
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
            if _capitalised(nxt) or (
                nxt.text.lower() in _NAME_JOINERS
                and last + 2 < len(tokens)
                and (
                    _capitalised(tokens[last + 2]) or tokens[last + 2].text.lower() in _NAME_JOINERS
                )
            ):
                last += 1
            else:
                break
        first = i
        # A capitalised function word at the start is sentence case, not a name.
        while first <= last and tokens[first].text.lower() in STOPWORDS:
            first += 1
        if first <= last:
            whole = _span(line, tokens, first, last)
            if _possessive(tokens[last].text):
                # The owner of something ("Norway's capital") is rarely the thing asked for.
                whole = _owner_only(whole, 0.4)
            spans.append(whole)
            head = first
            while head < last and tokens[head].text.lower().rstrip(".") in _TITLES:
                head += 1
            # An office named by its organisation ("Acme Corp Chairman Jo Bloggs"): the name is
            # what follows the last title word.
            titled = [k for k in range(head, last) if tokens[k].text.lower().rstrip(".") in _TITLES]
            if titled:
                head = titled[-1] + 1
                while head < last and tokens[head].text.lower() in _NAME_JOINERS:
                    head += 1
            if head != first:
                stripped = _span(line, tokens, head, last)
                if _possessive(tokens[last].text):
                    stripped = _owner_only(stripped, 0.4)
                spans.append(stripped)
        i = last + 1
    return [s for s in spans if not _only_calendar(s.text)]


def is_title_word(word: str) -> bool:
    """An office, honorific or nationality word ("chancellor", "dr", "norwegian")."""
    return word.lower().rstrip(".") in _TITLES or bool(_DEMONYM.match(word.capitalize()))


def _possessive(text: str) -> bool:
    return text.endswith(("’s", "'s")) and len(text) > 2


def _owner_only(span: Span, prior: float) -> Span:
    """A span ending in a possessive ("the mayor's"), without the "'s"."""
    return Span(span.text[:-2], span.start, span.end - 2, span.first, span.last, prior)


def _only_calendar(text: str) -> bool:
    return bool(re.fullmatch(rf"(?:{_WEEKDAYS}|{_MONTHS})", text, re.I))


_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ian|ians|ean|eans|ese|ish|an|ans|i|is)$")


def person_spans(line: str, tokens: list[Token]) -> list[Span]:
    """Names of people: full names are likelier than single words, and a single word shaped
    like a nationality ("Norwegian") or an all-capitals acronym is rarely a person."""
    spans = []
    for span in name_spans(line, tokens):
        words = span.last - span.first + 1
        if words >= 2:
            prior = 1.0
        elif _DEMONYM.match(span.text) or span.text.isupper():
            prior = 0.3
        else:
            prior = 0.7
        spans.append(replace(span, prior=prior * span.prior))
    return spans


def entity_spans(line: str, tokens: list[Token]) -> list[Span]:
    spans = []
    for span in name_spans(line, tokens):
        single = span.last == span.first
        prior = 0.4 if single and _DEMONYM.match(span.text) else 1.0
        spans.append(replace(span, prior=prior * span.prior))
    return spans


def phrase_spans(line: str, tokens: list[Token], question_stems: set[str]) -> list[Span]:
    """For questions with no span kind ("what was hit?"): runs of content words the question
    does not already contain, which is where new information sits."""
    spans = []
    i = 0
    while i < len(tokens):
        low = tokens[i].text.lower()
        if low in STOPWORDS or stem(tokens[i].text) in question_stems:
            i += 1
            continue
        last = i
        while last + 1 < len(tokens):
            nxt = tokens[last + 1]
            if nxt.text.lower() in STOPWORDS or stem(nxt.text) in question_stems:
                break
            if line[tokens[last].end : nxt.start].strip():  # punctuation ends a phrase
                break
            last += 1
        if last - i < 6:
            spans.append(_span(line, tokens, i, last, 0.5))
        i = last + 1
    return spans


def place_spans(line: str, tokens: list[Token]) -> list[Span]:
    spans = []
    for span in name_spans(line, tokens):
        prior = _place_cue(tokens, span.first) * span.prior
        spans.append(replace(span, prior=prior))
    return spans


def _place_cue(tokens: list[Token], first: int) -> float:
    """How strongly the words before a name say it is a place: "in Oslo", and also "in the
    northern Oslo" (a determiner and up to two lower-case modifiers may come between)."""
    for back in range(1, 4):
        if first - back < 0:
            break
        word = tokens[first - back].text
        cue = PLACE_CUES.get(word.lower())
        if cue is not None:
            return cue
        if not (word.islower() and word.isalpha()):
            break
    return 0.4


def quote_spans(line: str, tokens: list[Token]) -> list[Span]:
    spans = []
    for m in _QUOTE.finditer(line):
        span = _char_span(line, tokens, m.start(1), m.end(1), 0.9)
        if span and len(span.text.split()) <= 12:
            spans.append(span)
    return spans


def possessor_spans(line: str, tokens: list[Token], owned: str) -> list[Span]:
    """For "whose X?": the owner in "the harbour master's X", back to the determiner."""
    target = stem(owned)
    spans = []
    for i in range(1, len(tokens)):
        if stem(tokens[i].text) != target or not _possessive(tokens[i - 1].text):
            continue
        first = i - 1
        while first > max(0, i - 4) and tokens[first - 1].text.lower() not in STOPWORDS:
            if line[tokens[first - 1].end : tokens[first].start].strip():
                break
            first -= 1
        spans.append(_owner_only(_span(line, tokens, first, i - 1), 1.0))
    return spans


NAME_PRIOR = 0.6
# Words that introduce a cause or a purpose; the clause after one answers "why".
_REASON = re.compile(
    r"\b(?:because(?:\s+of)?|due\s+to|owing\s+to|thanks\s+to|as\s+a\s+result\s+of|in\s+order\s+to|"
    r"so\s+as\s+to|so\s+that|in\s+response\s+to|in\s+protest\s+(?:against|at)|to\s+(?=[a-z]+\b))\s+",
    re.I,
)


# Words that introduce a means or a manner; the phrase after one answers "how did...".
_MEANS = re.compile(r"\b(?:by|via|through|using|by\s+means\s+of|with\s+the\s+help\s+of)\s+", re.I)


def clause_spans(marker: re.Pattern[str], line: str, tokens: list[Token]) -> list[Span]:
    """The clause after a marker ("because", "in order to"; "by", "via"), up to the next
    punctuation: how prose gives a reason, a purpose or a means."""
    spans = []
    for m in marker.finditer(line):
        clause = re.split(r"[,;:.!?()“”\"]", line[m.end() :], maxsplit=1)[0]
        if len(clause) < 3:
            continue
        # a bare "to" (a purpose: "went there to rest") is a weaker marker than "because"
        prior = 0.9 if m.group(0).lower().startswith("to") else 1.0
        span = _char_span(line, tokens, m.end(), m.end() + len(clause), prior)
        if span and len(span.text.split()) <= 12:
            spans.append(span)
    return spans


def candidates(
    question: Question, line: str, tokens: list[Token], question_stems: set[str]
) -> list[Span]:
    kind = question.kind
    if kind is Kind.NUMBER:
        return number_spans(line, tokens)
    if kind is Kind.DURATION:
        return duration_spans(line, tokens) or [
            replace(s, prior=0.5) for s in number_spans(line, tokens)
        ]
    if kind is Kind.TIME:
        return date_spans(line, tokens, question.unit)
    if kind is Kind.PERSON and question.owned:
        return person_spans(line, tokens) + possessor_spans(line, tokens, question.owned)
    if kind is Kind.PERSON:
        return person_spans(line, tokens)
    if kind is Kind.PLACE:
        return place_spans(line, tokens)
    if kind is Kind.ENTITY and question.unit == "name":
        # a question asking for a name wants a name, not a number or "12-year-old"
        return [s for s in entity_spans(line, tokens) if not s.text[:1].isdigit()]
    if kind is Kind.ENTITY:
        return (
            entity_spans(line, tokens)
            + quote_spans(line, tokens)
            + [replace(s, prior=0.5) for s in number_spans(line, tokens)]
        )
    spans = quote_spans(line, tokens) + phrase_spans(line, tokens, question_stems)
    if question.asks_why:
        spans += clause_spans(_REASON, line, tokens)
    if question.asks_how:
        spans += clause_spans(_MEANS, line, tokens)
    if question.names_a_kind:  # "What museum...?": the answer may be a name ("the Peabody")
        spans += [replace(s, prior=NAME_PRIOR * s.prior) for s in entity_spans(line, tokens)]
    return spans
