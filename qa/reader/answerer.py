"""The default answerer: the trained reader reads every retrieved line (with its neighbours)
and the answer, the cited lines and the decision to abstain all come from its scores.

For each line the reader gives its best span and a margin: how much it prefers that span to
"the answer is not in this line". The line to answer from is the one with the best margin,
nudged by retrieval's order (`rank_weight`); the answer is abstained from when even that
margin is below `answer_threshold`; further lines are cited when the reader finds the same
answer in them and prefers it to "not in this line" by at least `cite_threshold`, and the line
states the whole answer and shares a word with the question (a line repeating the answer's
words about something else is not evidence for it, however the reader scores it). For a
group-trained reader the answer's margin is over "none of the lines read" (`decode.decide`),
but a further citation is judged against that line's own "not here": whether a line states
the answer is a question about the line, and a line that states it in other words
("was finished" for "opened") should not have to outscore the whole group to be cited. All of
these numbers come from the shipped calibration (fitted on SQuAD 2.0 dev articles, never on
the gold questions).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from index.text import terms
from qa.reader.decode import Span
from qa.reader.features import Question
from qa.reader.model import Passage, ReaderModel
from qa.retrieval import LineHit

Neighbours = Callable[[str, int], tuple[str, str]]
# Which words answer: the best line's span ("best"), or, when no other line read states that
# span but one states a run of its words ("88" beside "Another 88"), that run, cited in both
# ("agreed"). See `ReaderAnswerer._agreed`.
AnswerSpan = Literal["best", "agreed"]
# What a further line's margin is taken from: its own best span, which must name the answer
# ("span"), or the answer's own words in it, whatever else the reader prefers there ("answer":
# "Another 88 were shot down" for 88 destroyed drones, where its best span is another number
# in the line). See `ReaderAnswerer._supports`.
FurtherCitations = Literal["span", "answer"]


@dataclass(frozen=True)
class ReadLine:
    """A retrieved line as the reader saw it."""

    hit: LineHit
    span: Span | None

    @property
    def answer(self) -> str:
        return self.hit.text[self.span.start : self.span.end].strip() if self.span else ""

    @property
    def margin(self) -> float:
        return self.span.margin if self.span else -math.inf

    @property
    def line_margin(self) -> float:
        return self.span.line_margin if self.span else -math.inf

    @property
    def log_prob(self) -> float:
        return self.span.log_prob if self.span else -math.inf


@dataclass
class Reading:
    """What the reader concluded: the answer span, the lines to cite (best first), and how
    sure it is (0-1)."""

    answer: str
    abstained: bool
    confidence: float
    cited: list[ReadLine] = field(default_factory=list)
    question_cut: bool = False


def normalise(text: str) -> str:
    """Compare answers without case, punctuation, articles or thousands separators.

    Deliberately not `evals.metrics.normalize_answer`: the evaluation keeps the official SQuAD
    normalisation, independent of whatever the answerer finds useful ("1,000" = "1000")."""
    text = text.lower().replace(",", "")
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def about(question: str, line: str) -> bool:
    """Is the line about the question: does it share one of the question's words? A line
    that repeats an answer's words but none of the question's ("Anna Berg later wrote a
    history" for who cut a ribbon) is about something else. A question with no content
    words leaves it to reading."""
    wanted = set(terms(question))
    return not wanted or bool(wanted & set(terms(line)))


_INNER_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")


def _forms(text: str) -> set[str]:
    """The text normalised with a word-inner hyphen read as a space and as nothing: writers
    spell one compound both ways ("cease-fire", "ceasefire"; "full-scale", "full scale")."""
    return {normalise(text), normalise(_INNER_HYPHEN.sub("", text))} - {""}


def states(line: str, answer: str) -> bool:
    """Does the line state the whole answer, case, punctuation, articles and a compound's
    hyphen aside? A line that names only part of a long answer ("Helena Strand" of "Helena
    Strand opened the festival at the harbour master's office") does not support it."""
    said = [f" {form} " for form in _forms(line)]
    return any(f" {key} " in form for key in _forms(answer) for form in said)


def same_answer(a: str, b: str) -> bool:
    """Two spans name the same answer when one, normalised, is the other or a run of its
    words ("88" and "88 drones"), a compound's hyphen aside."""
    return any(
        x == y or f" {x} " in f" {y} " or f" {y} " in f" {x} " for x in _forms(a) for y in _forms(b)
    )


class ReaderAnswerer:
    """Reads with `model`; the two thresholds, when given, replace the calibration's (the
    `answering` settings), so abstaining and citing can be made stricter without refitting."""

    def __init__(
        self,
        model: ReaderModel,
        *,
        answer_threshold: float | None = None,
        cite_threshold: float | None = None,
        answer_span: AnswerSpan = "best",
        further_citations: FurtherCitations = "span",
    ) -> None:
        self.model = model
        self.answer_threshold = answer_threshold
        self.cite_threshold = cite_threshold
        self.answer_span = answer_span
        self.further_citations = further_citations

    def answer(self, question: str, hits: list[LineHit], neighbours: Neighbours) -> Reading:
        asked = self.model.question(question)
        if not hits:
            return Reading(answer="", abstained=True, confidence=0.0, question_cut=asked.cut)
        passages = [Passage(h.text, *neighbours(h.source, h.line)) for h in hits]
        spans = self.model.read(asked, passages)
        lines = [ReadLine(hit, span) for hit, span in zip(hits, spans, strict=True)]
        cal = self.model.calibration

        def preference(line: ReadLine) -> float:
            return line.margin - cal.rank_weight * math.log1p(line.hit.rank)

        ranked = sorted(
            (x for x in lines if x.span is not None and x.answer), key=preference, reverse=True
        )
        if not ranked:
            return Reading(answer="", abstained=True, confidence=0.0, question_cut=asked.cut)
        best = ranked[0]
        confidence = 1.0 / (
            1.0
            + math.exp(
                -(
                    cal.confidence_scale * best.margin
                    + cal.confidence_log_prob * best.log_prob
                    + cal.confidence_bias
                )
            )
        )
        answer_threshold = (
            cal.answer_threshold if self.answer_threshold is None else self.answer_threshold
        )
        cite_threshold = cal.cite_threshold if self.cite_threshold is None else self.cite_threshold
        if best.margin < answer_threshold:
            return Reading(answer="", abstained=True, confidence=confidence, question_cut=asked.cut)

        def further(line: ReadLine) -> list[ReadLine]:
            return [
                x
                for x in ranked[1:]
                if self._supports(question, asked, line, x, cite_threshold, neighbours)
            ]

        cited = [best, *further(best)]
        if len(cited) == 1 and self.answer_span == "agreed":
            agreed = self._agreed(question, best, ranked[1:], cite_threshold)
            if agreed is not None:
                best = agreed
                cited = [best, *further(best)]
        return Reading(
            answer=best.answer,
            abstained=False,
            confidence=confidence,
            cited=cited,
            question_cut=asked.cut,
        )

    @staticmethod
    def _agreed(
        question: str, best: ReadLine, others: list[ReadLine], threshold: float
    ) -> ReadLine | None:
        """The best line read again for the words it shares with another line, when no other
        line about the question states its whole span but one the reader trusts (own margin
        at least `threshold`, about the question) answers with a run of its words: "Another
        88" in one line, "88" in another. What both lines state is the answer they agree on,
        and both can be cited for it; the longer span could cite only one. The best line's
        span is moved onto those words so that what it highlights is what it is cited for."""
        if best.span is None or any(
            states(x.hit.text, best.answer) and about(question, x.hit.text) for x in others
        ):
            return None
        whole = _forms(best.answer)
        start, end = best.span.start, best.span.end
        for other in others:
            if (
                other.line_margin < threshold
                or not other.answer
                or _forms(other.answer) & whole
                or not same_answer(other.answer, best.answer)
                or not about(question, other.hit.text)
            ):
                continue
            inside = [
                (s, e)
                for s, e in occurrences(best.hit.text, other.answer)
                if start <= s and e <= end
            ]
            if inside:  # "88" is a run of "Another 88", not the other way round
                s, e = inside[0]
                return ReadLine(best.hit, replace(best.span, start=s, end=e))
        return None

    def _supports(
        self,
        question: str,
        asked: Question,
        best: ReadLine,
        other: ReadLine,
        threshold: float,
        neighbours: Neighbours,
    ) -> bool:
        """Is `other` a further line to cite for the answer read in `best`? The line states
        the whole answer, it is about the question (as an LLM's citation must be,
        `qa.llm.supports`), and the reader prefers the answer there to "not in this line" by
        `threshold`: its own span in the line, naming the same answer ("span"), or the
        answer's own words in the line ("answer")."""
        if not (states(other.hit.text, best.answer) and about(question, other.hit.text)):
            return False
        places = occurrences(other.hit.text, best.answer)
        if self.further_citations == "span" or not places:
            return other.line_margin >= threshold and same_answer(other.answer, best.answer)
        if other.span is not None and (other.span.start, other.span.end) in places:
            return other.line_margin >= threshold  # its best span is the answer's words
        passage = Passage(other.hit.text, *neighbours(other.hit.source, other.hit.line))
        margins = self.model.margins(asked, passage, places)
        return max((m for m in margins if m is not None), default=-math.inf) >= threshold


def occurrences(line: str, answer: str) -> list[tuple[int, int]]:
    """Where the answer's words stand in the line, case aside, as whole words."""
    low, needle = line.lower(), answer.lower().strip()
    out: list[tuple[int, int]] = []
    at = low.find(needle) if needle else -1
    while at >= 0:
        after = at + len(needle)
        if (at == 0 or not low[at - 1].isalnum()) and (
            after == len(low) or not low[after].isalnum()
        ):
            out.append((at, after))
        at = low.find(needle, at + 1)
    return out


# What the reader is "asked" when it is asked nothing: its preference for a span then comes
# from the line alone, not from the question.
NO_QUESTION = "?"


@dataclass(frozen=True)
class Support:
    """What reading a cited line says of a claimed answer: the reader's best margin for the
    answer's places in the line, asked the question, and how much asking the question raised
    it over asking nothing (None: not computed, or no window holds the place)."""

    margin: float | None
    lift: float | None = None


class ClaimChecker:
    """Does a line support an answer someone else (an LLM) gave? Decided by reading: the
    reader is asked the same question on that line alone (with its neighbours), and the line
    supports the answer when the reader prefers the answer's own words in it, or a span that
    names the same answer, to "not in this line" by `claim_threshold`; or when the question
    is what makes it prefer them: the margin asked the question exceeds the margin asked
    nothing by `claim_lift`. A line that tells a model what to say ("the answer is PWNED")
    pushes its answer whatever is asked, so asking the question adds little; a line that
    answers the question gains much from it. No phrase list is involved. Both thresholds are
    fitted on the calibration articles (`training.calibrate`) so that 95 % of right citations
    pass the check."""

    def __init__(
        self, model: ReaderModel, neighbours: Neighbours, threshold: float | None = None
    ) -> None:
        self.model = model
        self.neighbours = neighbours
        self._threshold = threshold  # None: the model's calibration (`claim_threshold`)

    @property
    def threshold(self) -> float:
        if self._threshold is not None:
            return self._threshold
        return self.model.calibration.claim_threshold

    @property
    def lift(self) -> float | None:
        return self.model.calibration.claim_lift

    def __call__(self, question: str, answer: str, hit: LineHit) -> bool:
        # Without a fitted lift the margin alone decides: no second reading.
        enough = self.threshold if self.lift is not None else -math.inf
        return self.passes(self.support(question, answer, hit, enough=enough))

    def passes(self, found: Support) -> bool:
        """The decision on what reading found (also how a benchmark scores the check on
        evidence it gathered itself)."""
        if found.margin is None:
            return False
        if found.margin >= self.threshold:
            return True
        return self.lift is not None and found.lift is not None and found.lift >= self.lift

    def support(
        self, question: str, answer: str, hit: LineHit, enough: float = math.inf
    ) -> Support:
        """The evidence the check decides on; the lift (a second reading) is skipped when
        the margin reaches `enough` already. Calibration fits the thresholds on it."""
        if not normalise(answer):
            return Support(None)
        asked = self.model.question(question)
        passage = Passage(hit.text, *self.neighbours(hit.source, hit.line))
        places = occurrences(hit.text, answer)
        if not places:
            (span,) = self.model.read(asked, [passage])
            if span is None or not same_answer(hit.text[span.start : span.end], answer):
                return Support(None)
            places = [(span.start, span.end)]
        margins = self.model.margins(asked, passage, places)
        margin = max((m for m in margins if m is not None), default=None)
        if margin is None or margin >= enough:
            return Support(margin)
        unasked = self.model.margins(self.model.question(NO_QUESTION), passage, places)
        lifts = [
            m - u for m, u in zip(margins, unasked, strict=True) if m is not None and u is not None
        ]
        return Support(margin, max(lifts, default=None))
