"""What kind of answer a question asks for, read from its wording.

General English question forms only (wh-words and the noun after "what"/"which"); nothing
here is about any corpus. The kind decides which spans of a line can be the short answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from qa.text import STOPWORDS


class Kind(StrEnum):
    NUMBER = "number"  # how many / how much / what percentage / how old
    DURATION = "duration"  # how long
    TIME = "time"  # when / what year / what day
    PERSON = "person"  # who / whom / whose
    PLACE = "place"  # where / what country
    ENTITY = "entity"  # which X / what X (a name)
    OTHER = "other"  # what / why / how: the answer is a phrase


_TIME_NOUNS = r"(?:year|day|date|month|time|week|hour|decade|century|season|weekday|morning)"
_PLACE_NOUNS = (
    r"(?:country|city|town|village|place|region|capital|state|province|nation|continent|"
    r"location|area|island|district|site|venue|county|territory)"
)
_PERSON_NOUNS = (
    r"(?:person|man|woman|leader|official|president|minister|politician|chancellor|"
    r"spokesperson|spokesman|spokeswoman|king|queen|author|player|ruler|pope|chief|head|"
    r"secretary|aide|wife|husband|son|daughter|envoy|general|emperor|founder|scientist)"
)

_RULES: list[tuple[re.Pattern[str], Kind]] = [
    (re.compile(r"\bhow\s+long\b"), Kind.DURATION),
    (
        re.compile(r"\bhow\s+(?:many|much|old|far|large|big|high|tall|deep|wide|heavy|fast)\b"),
        Kind.NUMBER,
    ),
    (
        re.compile(
            r"\b(?:what|which)\s+(?:number|percentage|percent|proportion|share|amount|"
            r"age|range|size|total|quantity|sum|price|cost|distance)\b"
        ),
        Kind.NUMBER,
    ),
    (re.compile(rf"\b(?:what|which)\s+{_TIME_NOUNS}s?\b"), Kind.TIME),
    (re.compile(r"\bwhen\b"), Kind.TIME),
    (re.compile(r"\bin\s+what\s+year\b"), Kind.TIME),
    (re.compile(r"\bwho(?:m|se)?\b"), Kind.PERSON),
    (re.compile(rf"\b(?:what|which)\s+(?:\w+\s+)?{_PERSON_NOUNS}s?\b"), Kind.PERSON),
    (re.compile(r"\bwhere\b"), Kind.PLACE),
    (re.compile(rf"\b(?:what|which)\s+(?:\w+\s+)?{_PLACE_NOUNS}\b"), Kind.PLACE),
    (re.compile(r"\b(?:what|which)\s+(?:is|was|are|were)\s+the\s+name\b"), Kind.ENTITY),
    (re.compile(r"\bwhich\b"), Kind.ENTITY),
    (re.compile(r"\bname\b"), Kind.ENTITY),
]

_WHY = re.compile(
    r"\bwhy\b|\bfor what (?:reason|purpose)\b|\bwhat (?:was|is|were|are) the reasons?\b"
)

_HOW = re.compile(r"^\s*how\s+(?:did|does|do|was|were|is|are|can|could|has|have|had|would|will)\b")

_FOLLOW_UP = re.compile(
    r"^(?:and|but|also|so|then|what about|how about|and what|and how|and who|and where|"
    r"and when)\b|\b(?:he|she|they|it|him|her|them|his|its|their|that|those|these|this|there)\b",
    re.IGNORECASE,
)


# "What word/term/adjective did X use?" asks for wording, not for a name.
_WORDS_FOR_WORDS = frozenset(
    {
        "word",
        "words",
        "term",
        "terms",
        "phrase",
        "phrases",
        "adjective",
        "adjectives",
        "verb",
        "noun",
        "description",
        "expression",
        "expressions",
        "quote",
        "slogan",
        "label",
    }
)


@dataclass(frozen=True)
class Question:
    text: str
    kind: Kind
    unit: str = ""  # TIME: year / day / date / month / time when named; ENTITY: "name"
    counted: str = ""  # for "how many X": the word X, which a good answer's number counts
    owned: str = ""  # for "whose X": the word X, which the answer owns ("the mayor's X")
    partitive: bool = False  # "how many of the X": a part of a set the line also counts
    names_a_kind: bool = False  # "What museum...?": a noun right after "what"/"which"
    asks_why: bool = False  # "why" / "for what reason": the answer is a cause or a purpose
    asks_how: bool = False  # "how did / is / can...": the answer is a means or a manner

    @property
    def wants_span(self) -> bool:
        return self.kind is not Kind.OTHER


# "how many (of the) (old) bridges": the last word before a verb-like word is the thing
# counted; taking up to three words after "how many" and keeping the last plural is enough.
_COUNTED = re.compile(
    r"\bhow\s+many\s+(?:of\s+(?:the|these|those|their|its)\s+)?(?:\w+\s+){0,2}?"
    r"(\w+s|people|children|men|women|staff|police|personnel|cattle)\b"
)
_TIME_UNIT = re.compile(rf"\b(?:what|which|in what|on what)\s+({_TIME_NOUNS})s?\b")


# A bare "when", "who" or "where" after another question word opens a clause, not the
# question: "What happens *when* X?", "How do they vote *when*...?".
_BARE_WH = frozenset({"when", "who", "whom", "whose", "where"})
_FIRST_WH = re.compile(r"\b(what|which|who|whom|whose|where|when|how|why)\b")


def classify(text: str) -> Question:
    low = " ".join(text.lower().split())
    opener = _FIRST_WH.search(low)
    for pattern, kind in _RULES:
        found = pattern.search(low)
        if found and opener and found.group(0) in _BARE_WH and found.start() > opener.start():
            continue
        if found:
            unit = ""
            if kind is Kind.TIME and (m := _TIME_UNIT.search(low)):
                unit = m.group(1)
            if kind is Kind.ENTITY and re.search(r"\bname\b", low):
                unit = "name"
            counted = ""
            if kind is Kind.NUMBER and (m := _COUNTED.search(low)):
                counted = m.group(1)
            owned = ""
            if kind is Kind.PERSON and (m := re.search(r"\bwhose\s+(\w+)", low)):
                owned = m.group(1)
            partitive = bool(re.search(r"\bhow\s+many\s+of\s+(?:the|these|those|their|its)\b", low))
            return Question(text, kind, unit, counted, owned, partitive)
    noun = asked_noun(text)
    return Question(
        text,
        Kind.OTHER,
        names_a_kind=bool(noun) and noun not in _WORDS_FOR_WORDS,
        asks_why=bool(_WHY.search(low)),
        asks_how=bool(_HOW.match(low)),
    )


_WH = frozenset({"what", "which", "who", "whom", "whose", "where", "when", "how"})
_AUX = frozenset(
    {"is", "was", "are", "were", "the", "a", "an", "of", "kind", "type", "sort", "name", "many"}
)


def focus_words(text: str) -> list[str]:
    """The noun a question asks about ("which *village*", "who is the *president* of"): the
    first one or two content words after the question word. Spans sitting next to them in a
    line ("Lystrup, a village") are likely answers."""
    found = re.findall(r"[\w'’-]+", text.lower())
    for i, word in enumerate(found):
        if word not in _WH:
            continue
        out: list[str] = []
        for nxt in found[i + 1 :]:
            if nxt in _AUX and not out:
                continue
            if (
                nxt in _AUX
                or nxt in ("did", "does", "do", "has", "had", "have", "will")
                or (len(out) == 2)
            ):
                break
            out.append(nxt)
        return out
    return []


_WHAT_NOUN = re.compile(
    r"\b(?:what|which)\s+(?:(?:kind|type|sort|form|variety|class)s?\s+of\s+)?([\w-]+)",
    re.IGNORECASE,
)


_VERBS_FIRST = frozenset(
    {"did", "does", "do", "has", "had", "have", "will", "can", "could", "would"}
)


def asked_noun(text: str) -> str:
    """The noun right after "what"/"which" ("What *museum*...?", "What kind of *ballot*...?"),
    or "" when a verb comes first ("What is..."). Prose names a kind of thing by the words in
    front of it ("the *Peabody* Museum", "a *secret* ballot")."""
    found = _WHAT_NOUN.search(text)
    if not found:
        return ""
    word = found.group(1).lower()
    return "" if word in STOPWORDS or word in _AUX or word in _VERBS_FIRST else word


_OWNER_QUESTION = re.compile(
    r"(?:who|what|which)\s+(?:is|was|are|were|\w+ed|led|held|ran|runs|leads|heads)\s+"
    r"(?:the\s+)?(?:[A-Z][\w-]+\s+){0,3}([A-Z][\w-]+)[’']s\s+\w+",
    re.IGNORECASE,
)


def attribute_owner(text: str) -> str:
    """The name a question asks an attribute of ("Who is Acme's founder?", "What is Jo's
    surname?"), or "": the answer should sit beside it. Only when the possessive directly
    follows the question word and its verb; elsewhere ("What did Acme's staff say?") it is
    scenery."""
    owned = _OWNER_QUESTION.match(text.strip())
    return owned.group(1) if owned else ""


_ALONG_WITH = re.compile(
    r"\b(?:besides|apart\s+from|aside\s+from|other\s+than|in\s+addition\s+to|along\s+with|"
    r"together\s+with|alongside|as\s+well\s+as|except\s+for)\s+(.+?)"
    r"(?:,?\s+\b(?:what|which|who|whom|where|when|how|is|are|was|were|did|does|do|has|have|"
    r"had)\b|[,?]\s*$|\?|$)",
    re.IGNORECASE,
)


def listed_with(text: str) -> list[str]:
    """The items a question sets aside ("Besides oats and rye, which grain...?"): the answer
    is another member of the same list, so a candidate listed beside them in a line ("wheat,
    oats and rye") is likely right. Returns their words, lower-cased."""
    found = _ALONG_WITH.search(text)
    if not found:
        return []
    items = re.split(r",|\band\b|\bor\b", found.group(1), flags=re.IGNORECASE)
    found_words = (w.lower() for item in items for w in re.findall(r"[\w'’-]+", item))
    return [w for w in found_words if w not in STOPWORDS]


_STRANDED = re.compile(
    r"\b(of|for|as|to|with|into|after|from|by|on|in|about|at|onto|towards?|against|like|over)"
    r"\s*\?*\s*$",
    re.IGNORECASE,
)


def stranded_preposition(text: str) -> str:
    """The preposition a question ends on ("What is Acme known *for*?"), or "": the answer is
    that preposition's object, so it follows the same preposition in the line."""
    found = _STRANDED.search(text.strip())
    return found.group(1).lower() if found else ""


_IN_SITU = re.compile(r"(?:\b([\w'’-]+)\s+)?\b([\w'’-]+)\s+(?:what|which|whom)\b", re.IGNORECASE)
_IN_SITU_PREPOSITIONS = frozenset({"of", "for", "to", "with", "by", "from", "into", "on", "about"})


def answer_follows(text: str) -> list[str]:
    """The words the answer comes right after in a line that states it: "The storm destroyed
    *what*?" is answered by "destroyed the pier", "It damaged the roof of what?" by "roof of
    the chapel". Empty when the question does not say. ("What did the storm destroy?" is
    not read this way: measured, it hurt.)"""
    in_situ = _IN_SITU.search(text)
    if not in_situ or in_situ.start(2) == 0:
        return []
    before, word = (in_situ.group(1) or "").lower(), in_situ.group(2).lower()
    if word in _IN_SITU_PREPOSITIONS and before and before not in STOPWORDS:
        return [before, word]
    return [word] if word not in STOPWORDS else []


def looks_like_follow_up(text: str) -> bool:
    """Short questions that lean on the previous turn ("And how many were repaired?")."""
    return bool(_FOLLOW_UP.search(text.strip())) or len(text.split()) <= 4
