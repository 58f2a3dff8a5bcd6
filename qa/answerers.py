"""What `Assistant` composes to answer: an `Answerer` turns a question and the lines
retrieval found into a streamed reply that ends with an `Answer`. The reader is one (the
default); `qa.llm.LLMAnswerer` is the other. An answerer that cannot give a supported answer
this time raises `AnswerUnavailable`, and `Assistant` decides what to do instead (it asks
the reader): no answerer knows of another."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from qa.citing import cite
from qa.conversation import with_referent
from qa.reader import ReaderAnswerer, ReaderModelError, Reading
from qa.reader.answerer import Neighbours
from qa.retrieval import LineHit
from qa.types import NO_ANSWER, Answer, Turn


class AnswerError(Exception):
    """An answerer that cannot answer at all (a broken model file): one line for the user."""


class AnswerUnavailable(Exception):
    """No supported answer this time (a model that is down, slow or cites nothing that
    supports its answer); the message says why, in words a user can read."""


class Answerer(Protocol):
    # Each answerer repeats this signature: that is what implementing the protocol means.
    def stream(
        self, question: str, hits: list[LineHit], history: list[Turn]
    ) -> Iterator[str | Answer]:
        """Pieces of the reply as they are ready, then the complete `Answer`; or
        `AnswerUnavailable` (after pieces, possibly) when it has no answer it can stand by."""
        ...


class ReaderReplies:
    """The trained reader as an answerer: it reads each line (with its neighbours) and
    answers with the span it trusts most, citing the lines that hold it."""

    def __init__(
        self, reader: ReaderAnswerer, neighbours: Neighbours, *, resolve: bool = False
    ) -> None:
        self.reader = reader
        self.neighbours = neighbours
        self.resolve = resolve

    def answer(
        self, question: str, hits: list[LineHit], history: list[Turn] | None = None
    ) -> Answer:
        """With `resolve`, a follow-up that points back with a pronoun is also read with the
        previous answer in the pronoun's place (`with_referent`); the reading kept is the one
        that answers with the higher confidence, so a wrong guess at what "it" names should
        lose to the question as asked."""
        asked = [question]
        resolved = with_referent(question, history or []) if self.resolve else None
        if resolved is not None:
            asked.append(resolved)
        try:
            readings = [self.reader.answer(q, hits, self.neighbours) for q in asked]
        except ReaderModelError as err:
            raise AnswerError(str(err)) from err
        reading = max(readings, key=lambda r: (not r.abstained, r.confidence))
        notice = "the question was too long for the reader; it read the start"
        return reply(question, reading, notice if reading.question_cut else None)

    def stream(
        self, question: str, hits: list[LineHit], history: list[Turn]
    ) -> Iterator[str | Answer]:
        answer = self.answer(question, hits, history)
        yield from pieces(answer.text)
        yield answer


def reply(question: str, reading: Reading, notice: str | None) -> Answer:
    """A reading as the answer contract: the span, each cited line (a paged document's page
    and printed line), and the reader's confidence."""
    confidence = round(reading.confidence, 3)
    if reading.abstained:
        return Answer(
            question=question, text=NO_ANSWER, abstained=True, notice=notice, confidence=confidence
        )
    citations = [
        cite(line.hit, *((line.span.start, line.span.end) if line.span else (None, None)))
        for line in reading.cited
    ]
    quoted = "\n".join(f"“{c.quote}” ({c.label})" for c in citations)
    return Answer(
        question=question,
        answer=reading.answer,
        text=f"{reading.answer}\n\n{quoted}",
        citations=citations,
        notice=notice,
        confidence=confidence,
    )


def pieces(text: str, words: int = 6) -> Iterator[str]:
    """Stream a finished reply a few words at a time: every caller renders the same way, and
    a page redraws a handful of times rather than once per word."""
    tokens = re.findall(r"\S+\s*|\s+", text)
    for start in range(0, len(tokens), words):
        yield "".join(tokens[start : start + words])
