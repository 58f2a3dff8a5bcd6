"""The default answerer: no language model, only the retrieved lines.

It scores each retrieved line for how well it supports the question (how much of the
question's weighted vocabulary it contains, and how close it is in embedding space), pulls
out the spans of the kind the question asks for (a number for "how many", a name for
"who"), and prefers spans that sit close to the question's words in a well-supported line.
Agreement between lines adds up, so a fact two sources state wins over one a single line
mentions in passing. Below a support threshold it abstains.

Hand-written: no offline extractive reader exists for this stack (see `qa.spans`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from qa.questions import (
    Kind,
    Question,
    answer_follows,
    asked_noun,
    attribute_owner,
    classify,
    focus_words,
    listed_with,
    stranded_preposition,
)
from qa.retrieval import LineHit
from qa.spans import PLACE_CUES, Span, Token, candidates, is_title_word, tokenize
from qa.text import LIGHT_VERBS, PARTICLES, STOPWORDS, stem, terms, words

# Abstention thresholds, chosen on a sample of SQuAD 2.0 dev questions (`qa eval --format
# squad`), never on the gold set: below them an answer was more often wrong than right.
SUPPORT_THRESHOLD = 0.45  # how well the best line covers the question
SPAN_THRESHOLD = 0.12  # how well the chosen span sits among the question's words
CITE_SHARE = 0.2
_NEIGHBOUR_LINES = 2
_DETERMINERS = frozenset({"a", "an", "the", "his", "her", "its", "their", "our", "this", "that"})
_AUXILIARIES = frozenset({"have", "has", "had", "were", "was", "are", "is", "will", "would"})
_APPOSITION_BOOST = 1.5  # a name renamed by the asked-about noun ("X, a village")
_FAR_FROM_OWNER = 0.4  # asked about "Acme's founder", the answer is rarely far from "Acme"
_LISTED_BESIDE = 2.0  # "Besides oats, which grain...?": a span listed beside oats
_OBJECT_OF_PREPOSITION = 2.0  # "What is Acme known for?": the span after "known for"
_MODIFIES_FOCUS = 2.0  # "What kind of ballot?": the word before "ballot" in "a secret ballot"
_FOLLOWS_ANCHOR = 2.0  # "What did the storm destroy?": the span after "destroyed"
_LIST_GLUE = frozenset({"and", "or", "as", "well", "a", "an", "the", "&"})
_PROXIMITY_SCALE = 4.0  # tokens; how fast a question word's pull on a span fades
_QUESTION_WORDS = frozenset(
    {
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "why",
        "how",
        "did",
        "does",
        "do",
        "is",
        "was",
        "are",
        "were",
        "and",
    }
)


@dataclass
class ScoredLine:
    hit: LineHit
    tokens: list[Token]
    stems: list[str]
    coverage: float
    support: float
    missing_entities: list[str] = field(default_factory=list)

    @cached_property
    def cumulative(self) -> list[float]:
        """Clause-break distance summed up to each token (computed once per line)."""
        out = [0.0]
        for gap in _gaps(self):
            out.append(out[-1] + gap)
        return out

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        where: dict[str, list[int]] = {}
        for i, term in enumerate(self.stems):
            where.setdefault(term, []).append(i)
        return where


@dataclass
class Draft:
    """What the extractive answerer concluded, before it is worded as a reply."""

    question: Question
    answer: str
    lines: list[ScoredLine]  # supporting lines, best first; empty when abstaining
    support: float
    abstained: bool
    score: float = 0.0  # the chosen span's score: support x form prior x closeness


@dataclass
class _Weighted:
    weights: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.weights.values()) or 1.0


def _question_weights(
    question: str, context: str, idf: Callable[[str], float]
) -> tuple[_Weighted, _Weighted]:
    """IDF weights of the question's terms; terms only found in the earlier turn count less."""
    own: dict[str, float] = {}
    for word in _split_compounds(tokenize(question)):
        low = word.text.lower()
        if low in STOPWORDS and low not in PARTICLES:
            continue
        term = stem(word.text)
        own[term] = idf(term) * (0.3 if low in PARTICLES or low in LIGHT_VERBS else 1.0)
    extra = dict(own)
    for term in terms(context):
        extra.setdefault(term, 0.5 * idf(term))
    return _Weighted(own), _Weighted(extra)


def _split_compounds(tokens: list[Token]) -> list[Token]:
    """ "The Smith–Jones talks": each name is a question word of its own."""
    out = []
    for tok in tokens:
        if not re.search(r"[–—-]", tok.text) or not tok.text[:1].isupper():
            out.append(tok)
            continue
        at = tok.start
        for part in re.split(r"([–—-])", tok.text):
            if part and part not in "–—-":
                out.append(Token(part, at, at + len(part)))
            at += len(part)
    return out


def question_entities(question: str) -> list[str]:
    """Proper names in the question (capitalised, not sentence-initial function words): a
    line about someone else cannot support an answer about them."""
    out = []
    for i, tok in enumerate(_split_compounds(tokenize(question))):
        low = tok.text.lower()
        if not tok.text[:1].isupper() or low in STOPWORDS or low in _QUESTION_WORDS:
            continue
        if i == 0:
            continue
        out.append(stem(tok.text))
    return out


def _dense_scaled(cosine: float) -> float:
    return min(1.0, max(0.0, (cosine - 0.15) / 0.55))


def score_line(
    hit: LineHit,
    own: _Weighted,
    entities: list[str],
    neighbour_stems: set[str],
) -> ScoredLine:
    tokens = tokenize(hit.text)
    stems = [stem(t.text) for t in tokens]
    present = set(stems) | {stem(t.text) for t in _split_compounds(tokens)}
    unmatched = [e for e in entities if e not in present]
    if unmatched:  # "Canada" in the question, "Canadian" in the line
        names = {s for s, t in zip(stems, tokens, strict=True) if t.text[:1].isupper()}
        present |= {e for e in unmatched if any(same_name(e, n) for n in names)}
    coverage = sum(w for t, w in own.weights.items() if t in present) / own.total
    support = 0.6 * coverage + 0.4 * _dense_scaled(hit.dense)
    missing = [e for e in entities if e not in present and e not in neighbour_stems]
    if missing:
        support *= 0.35
    return ScoredLine(hit, tokens, stems, coverage, support, missing)


def same_name(a: str, b: str) -> bool:
    """Stems of one proper name in two forms: a country and its people or language ("china"
    and "chinese", "brazil" and "brazilian"), a name and its possessive or plural. The shorter,
    minus a final vowel, must begin the longer, which adds at most four letters."""
    short, long = sorted((a, b), key=len)
    if short == long:
        return True
    root = short[:-1] if short[-1:] in "aeiouy" else short
    return len(root) >= 4 and long.startswith(root) and len(long) - len(root) <= 4


def _gaps(line: ScoredLine) -> list[float]:
    """Extra distance for crossing the gap after each token: a clause break (", and", ";",
    a dash, a full stop) separates facts more than plain word order does."""
    text = line.hit.text
    out = []
    for a, b in zip(line.tokens, line.tokens[1:], strict=False):
        between = text[a.end : b.start]
        if any(c in between for c in ".;:!?–—") or " - " in between:
            out.append(5.0)
        elif "," in between:
            out.append(2.0)
        else:
            out.append(0.0)
    return out


def _distance(i: int, span: Span, cumulative: list[float]) -> float:
    """Token distance between position i and the span, plus the clause breaks between."""
    if i < span.first:
        return (span.first - i) + cumulative[span.first] - cumulative[i]
    return (i - span.last) + cumulative[i] - cumulative[span.last]


def _proximity(span: Span, line: ScoredLine, weights: _Weighted) -> float:
    """How strongly the question's words cluster around the span, 0..1."""
    cumulative = line.cumulative
    total = 0.0
    for term, weight in weights.weights.items():
        best = math.inf
        for i in line.positions.get(term, ()):
            if not (span.first <= i <= span.last):
                best = min(best, _distance(i, span, cumulative))
        if best < math.inf:
            total += weight * math.exp(-(best - 1) / _PROXIMITY_SCALE)
    return min(1.0, total / weights.total)


def normalise(text: str) -> str:
    text = text.lower().replace(",", "")
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def _repeats_question(
    span: Span, line: ScoredLine, question_terms: set[str], named: set[str]
) -> bool:
    """A span made of the question's own words, or the full name of someone the question
    already names ("Jo Bloggs" when asked about Bloggs), is not news to the asker."""
    span_terms = [s for s in line.stems[span.first : span.last + 1] if s]
    if not span_terms:
        return False
    return all(s in question_terms for s in span_terms) or span_terms[-1] in named


class ExtractiveAnswerer:
    """Short answers and supporting lines from retrieved lines alone."""

    def __init__(
        self, threshold: float = SUPPORT_THRESHOLD, span_threshold: float = SPAN_THRESHOLD
    ) -> None:
        self.threshold = threshold
        self.span_threshold = span_threshold

    def answer(
        self,
        question: str,
        hits: list[LineHit],
        idf: Callable[[str], float],
        *,
        context: str = "",
        neighbours: Callable[[str, int], str | None] | None = None,
    ) -> Draft:
        asked = classify(question)
        own, extended = _question_weights(question, context, idf)
        entities = question_entities(question)
        scored = []
        for hit in hits:
            near: set[str] = set()
            if neighbours is not None and entities:
                for delta in range(-_NEIGHBOUR_LINES, _NEIGHBOUR_LINES + 1):
                    text = neighbours(hit.source, hit.line + delta) if delta else None
                    if text:
                        near.update(stem(t.text) for t in tokenize(text))
            scored.append(score_line(hit, own if not context else extended, entities, near))
        scored.sort(key=lambda s: -s.support)
        if not scored or scored[0].support < self.threshold:
            return Draft(asked, "", [], scored[0].support if scored else 0.0, abstained=True)

        question_terms = set(extended.weights)
        focus = {stem(w) for w in focus_words(question)} - {""}
        owner = stem(attribute_owner(question))  # "" when the question asks of no one
        listed = {stem(w) for w in listed_with(question)} - {""}
        preposition = stranded_preposition(question)
        # a stranded preposition is the stronger cue; the two would pull apart
        noun = "" if preposition else stem(asked_noun(question))
        anchor = [] if preposition else [stem(w) for w in answer_follows(question)]
        named = set(entities) if asked.kind in (Kind.PERSON, Kind.ENTITY, Kind.PLACE) else set()
        best_form: dict[str, tuple[float, str]] = {}
        in_line: dict[tuple[str, int], float] = {}  # (answer, line index) -> its best score
        for at, line in enumerate(scored):
            if line.support < self.threshold * 0.8:
                continue
            for span in candidates(asked, line.hit.text, line.tokens, question_terms):
                if _repeats_question(span, line, question_terms, named):
                    continue
                key = normalise(span.text)
                if not key:
                    continue
                prior = span.prior * _counts_the_right_thing(asked, span, line)
                if focus and _renamed_by(span, line, focus):
                    prior *= _APPOSITION_BOOST
                if owner and not _near_owner(span, line, owner):
                    prior *= _FAR_FROM_OWNER
                if noun and asked.kind in (Kind.OTHER, Kind.ENTITY) and _modifies(span, line, noun):
                    prior *= _MODIFIES_FOCUS
                if anchor and _follows(span, line, anchor):
                    prior *= _FOLLOWS_ANCHOR
                if listed and _listed_beside(span, line, listed):
                    prior *= _LISTED_BESIDE
                if preposition and _object_of(span, line, preposition, question_terms):
                    prior *= _OBJECT_OF_PREPOSITION
                score = line.support * prior * (0.25 + 0.75 * _proximity(span, line, extended))
                in_line[(key, at)] = max(in_line.get((key, at), 0.0), score)
                if key not in best_form or score > best_form[key][0]:
                    best_form[key] = (score, span.text)
        totals: dict[str, list[float]] = {}  # each answer's best score in each line
        for (key, _), score in in_line.items():
            totals.setdefault(key, []).append(score)
        if not totals:
            if not asked.wants_span:
                best = scored[0]
                return Draft(asked, _best_clause(best, extended), [best], best.support, False)
            return Draft(asked, "", [], scored[0].support, abstained=True)

        if asked.kind in (Kind.PERSON, Kind.ENTITY, Kind.PLACE):
            _fold_short_names(totals, question_terms)

        # The best line's score, plus a share of every other line that agrees with it.
        def agreed(k: str) -> float:
            ranked = sorted(totals[k], reverse=True)
            return ranked[0] + 0.35 * sum(ranked[1:])

        key = max(totals, key=lambda k: (agreed(k), best_form[k][0]))
        if asked.wants_span and agreed(key) < self.span_threshold:
            return Draft(asked, "", [], scored[0].support, abstained=True, score=agreed(key))
        answer = best_form[key][1]
        # A line that states the answer and is about the question supports it, even when it
        # words the question differently ("purchased" for "bought").
        support_floor = max(self.threshold * 0.8, 0.45 * scored[0].support)
        # A line that only mentions the answer in passing, far from what was asked, does not
        # support it: it must score the answer at a fair share of the best line's score.
        share_floor = CITE_SHARE * best_form[key][0]
        cited = [
            line
            for at, line in enumerate(scored)
            if line.support >= support_floor
            and key in normalise(line.hit.text)
            and in_line.get((key, at), share_floor) >= share_floor
        ][:3]
        if not cited:
            return Draft(asked, "", [], scored[0].support, abstained=True)
        return Draft(asked, answer, cited, cited[0].support, False, score=agreed(key))


def _renamed_by(span: Span, line: ScoredLine, focus: set[str]) -> bool:
    """Is the span set off by a comma next to a noun phrase headed by the noun the question
    asks about ("Lystrup, a village near...", "his aide, Jo Bloggs,")? Apposition is how
    prose says what a name is. Only the phrase's head counts: in "the US envoy, Jo Bloggs"
    Bloggs is an envoy, not something "US"."""
    text = line.hit.text
    after = text[span.end : span.end + 60]
    if after.startswith(","):
        phrase = words(re.split(r"[,.;:()–—]", after[1:], maxsplit=1)[0])
        while phrase and phrase[0].lower() in _DETERMINERS:
            phrase = phrase[1:]
        head = ""
        for i, word in enumerate(phrase):  # "a village near X": the noun before "near"
            low = word.lower()
            if low in STOPWORDS or low in PLACE_CUES or (i and word[:1].isupper()):
                break
            head = word
        if head and stem(head) in focus:
            return True
    before = text[max(0, span.start - 60) : span.start].rstrip()
    if not before.endswith(","):
        return False
    previous = words(re.split(r"[.;:!?]\s", before)[-1])  # this sentence only
    heads = previous[-1:]
    if len(previous) >= 3 and previous[-2].lower() == "of":  # "secretary of state, X"
        heads.append(previous[-3])
    return any(stem(w) in focus for w in heads)


def _near_owner(span: Span, line: ScoredLine, owner: str, reach: int = 3) -> bool:
    stems = line.stems
    lo, hi = max(0, span.first - reach), min(len(stems), span.last + 1 + reach)
    near = stems[lo : span.first] + stems[span.last + 1 : hi]
    return any(same_name(owner, s) for s in near if s)


def _listed_beside(span: Span, line: ScoredLine, listed: set[str], reach: int = 6) -> bool:
    """Is the span a member of a list ("wheat, oats and rye") that holds one of the items
    the question sets aside? Only separators, list words and the set-aside items' own words
    may stand between them."""
    text, tokens = line.hit.text, line.tokens

    def walk(step: int) -> bool:
        i = span.last if step > 0 else span.first
        separated = False
        for _ in range(reach):
            j = i + step
            if not 0 <= j < len(tokens):
                return False
            a, b = (tokens[i], tokens[j]) if step > 0 else (tokens[j], tokens[i])
            between = text[a.end : b.start]
            if any(c in between for c in '.;:!?()“”"'):
                return False
            separated = separated or "," in between
            word = tokens[j].text.lower()
            if line.stems[j] in listed:
                return separated
            if word in ("and", "or"):
                separated = True
            elif word not in _LIST_GLUE:
                return False
            i = j
        return False

    return walk(1) or walk(-1)


def _modifies(span: Span, line: ScoredLine, noun: str) -> bool:
    """Is the span right in front of the noun the question asks about ("What kind of ballot?"
    and "a *secret* ballot")?"""
    after = span.last + 1
    if after >= len(line.tokens):
        return False
    if line.hit.text[line.tokens[span.last].end : line.tokens[after].start].strip():
        return False
    return line.stems[after] == noun and noun not in line.stems[span.first : after]


def _word_before(span: Span, line: ScoredLine) -> int:
    """Index of the word before the span, past any determiner or possessive ("known for
    *its* X"), or -1 when the span opens the line."""
    at = span.first - 1
    while at >= 0 and line.tokens[at].text.lower() in _DETERMINERS:
        at -= 1
    return at


def _follows(span: Span, line: ScoredLine, anchor: list[str]) -> bool:
    """Does the span come right after the question's anchor words (a determiner between is
    fine): "destroyed *the pier*" for "The storm destroyed what?"."""
    at = _word_before(span, line)
    start = at - len(anchor) + 1
    return start >= 0 and line.stems[start : at + 1] == anchor


def _object_of(span: Span, line: ScoredLine, preposition: str, question_terms: set[str]) -> bool:
    """Does the span follow the question's stranded preposition, itself just after one of
    the question's words ("located *by* the river X", "known *for* its X")? A determiner or
    possessive may come between the preposition and the span."""
    at = _word_before(span, line)
    if at < 1 or line.tokens[at].text.lower() != preposition:
        return False
    return any(line.stems[k] in question_terms for k in range(max(0, at - 3), at))


def _fold_short_names(totals: dict[str, list[float]], question_terms: set[str]) -> None:
    """A line that says "Lovelace" supports "Ada Lovelace" too: count it for the full name.
    Titles are not part of a name: "Countess Ada Lovelace" counts for "Ada Lovelace", and
    neither are words the question already says ("Acme Chairman Jo Bloggs" when asked who
    chairs Acme counts for "Jo Bloggs")."""

    def only_framing(extra: set[str]) -> bool:
        return all(is_title_word(w) or stem(w) in question_terms for w in extra)

    merged = {k: list(v) for k, v in totals.items()}
    for short in totals:
        words = set(short.split())
        supersets = [k for k in totals if k != short and words < set(k.split())]
        for full in supersets:
            if full.endswith(short) and only_framing(set(full.split()) - words):
                merged[short] += totals[full]  # the longer form only adds titles in front
        names = [k for k in supersets if not only_framing(set(k.split()) - words)]
        if names:
            shortest = min(names, key=lambda k: len(k.split()))
            merged[shortest] += totals[short]
    totals.update(merged)


def _counts_the_right_thing(asked: Question, span: Span, line: ScoredLine) -> float:
    """For "how many X": a number followed by X is likely right; one followed by some other
    plural noun ("25 red apples" when asked about pears) is likely not. Asked "how many *of
    the* X", a part is wanted: "40 of the X" is right, and "200 X" is more likely the whole."""
    if asked.kind is not Kind.NUMBER or not asked.counted:
        return 1.0
    target = stem(asked.counted)
    after = line.tokens[span.last + 1 : span.last + 4]
    if any(stem(t.text) == target for t in after):
        if asked.partitive:
            return 1.3 if after[0].text.lower() == "of" else 0.8
        return 1.3
    # "25 Acme drones": a capitalised word between the number and its noun is a modifier.
    content = [t for t in after if t.text.lower() not in STOPWORDS and t.text.islower()]
    if any(t.text.endswith("s") for t in content[:2]):  # "25 attack drones"
        if target not in line.stems:
            return 0.15  # it counts something the question did not ask about
        return 0.6
    if target in line.stems or (
        _opens_sentence(span, line) and after and after[0].text.lower() in _AUXILIARIES
    ):
        return 1.0  # "Tens of thousands have been killed.": the counted noun is understood
    return 0.7


def _opens_sentence(span: Span, line: ScoredLine) -> bool:
    before = line.hit.text[: span.start].rstrip()
    return not before or before[-1] in ".;:!?"


def _best_clause(line: ScoredLine, weights: _Weighted) -> str:
    """For questions without a span kind ("why", "what happened"): the clause of the line
    where the question's words are densest."""
    clauses = [c.strip() for c in re.split(r"(?<=[,;:.!?])\s+|\s+[–—-]\s+", line.hit.text)]
    clauses = [c for c in clauses if c]
    if not clauses:
        return line.hit.text

    def score(clause: str) -> float:
        present = set(terms(clause))
        return sum(w for t, w in weights.weights.items() if t in present) / weights.total

    return max(clauses, key=score).strip(" ,;:")
