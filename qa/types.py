"""The answer contract shared by the Python API, the CLI's --json, the chat page and the
evaluation. Field names are stable: other tools read them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def escape_controls(text: str) -> str:
    """Control characters (a newline in a file's name, an escape sequence) shown escaped,
    so text meant for one line stays on one line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


class Citation(BaseModel):
    source: str
    # Paged formats (PDF): the page, counted from 1, and the lines are those of that page as
    # a person sees it; None for formats without pages, whose lines are the file's.
    page: int | None = None
    line_start: int
    line_end: int
    quote: str  # the exact text that was read: the line (a PDF's paragraph), as indexed
    # Where the answer span sits inside `quote` (character offsets, end exclusive), when the
    # answer was read from this line; None otherwise.
    span_start: int | None = None
    span_end: int | None = None

    @property
    def label(self) -> str:
        """`notes.txt:21`, `notes.txt:3-5`, `report.pdf:p7:12`. Control characters in a
        file's name (a newline) are shown escaped, so a label is always one line."""
        lines = str(self.line_start)
        if self.line_end != self.line_start:
            lines += f"-{self.line_end}"
        source = escape_controls(self.source)
        if self.page is not None:
            return f"{source}:p{self.page}:{lines}"
        return f"{source}:{lines}"


class RetrievedLine(BaseModel):
    """A line retrieval ranked for a question, before any answering."""

    source: str
    line: int  # the indexed line's number (a PDF's paragraph number)
    text: str
    score: float
    cited: Citation  # how an answer from this line would be cited (a PDF's page and lines)


class Timings(BaseModel):
    retrieval_ms: float = 0.0
    answer_ms: float = 0.0
    total_ms: float = 0.0


class Turn(BaseModel):
    """One earlier exchange, for follow-up questions."""

    question: str
    answer: str = ""


class Answer(BaseModel):
    question: str
    answer: str = ""  # the short answer span; empty when abstaining or when none applies
    text: str  # the full reply shown to a person
    abstained: bool = False
    citations: list[Citation] = Field(default_factory=list)
    mode: Literal["reader", "llm"] = "reader"
    notice: str | None = None  # e.g. why the LLM answer was replaced by the reader's
    # How sure the reader is of its answer (0-1), calibrated on held-out SQuAD articles;
    # None for answers that did not come from the reader.
    confidence: float | None = None
    timings: Timings = Field(default_factory=Timings)


NO_ANSWER = "The sources do not say."


def confidence_words(answer: Answer) -> str:
    """How sure the reader is, in the words the page and the command line show. For an
    abstention the number is the best candidate answer's, which was not trusted enough to
    show: said as such, so that it is not read as the certainty of "the sources do not say"."""
    if answer.confidence is None:
        return ""
    if answer.abstained:
        return f"the best candidate answer had confidence {answer.confidence:.0%}"
    return f"confidence {answer.confidence:.0%}"
