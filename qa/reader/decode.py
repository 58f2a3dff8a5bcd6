"""From the model's start/end scores to the best span of one window and its "not in this line"
score. Written by hand: it is a few lines of numpy, and the decoders that ship with
`transformers` need torch and know nothing of the line markers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.reader.features import Window

MAX_ANSWER_TOKENS = 30


@dataclass(frozen=True)
class Span:
    """The best answer a window offers."""

    start: int  # character offsets in the line
    end: int
    score: float  # start + end logit of the span
    null: float  # start + end logit of [CLS]: "the answer is not in this line"

    @property
    def margin(self) -> float:
        """How much the model prefers this span to saying the line does not answer."""
        return self.score - self.null


def best_span(window: Window, start_logits: np.ndarray, end_logits: np.ndarray) -> Span | None:
    """The highest-scoring span inside the line's tokens, at most MAX_ANSWER_TOKENS long."""
    first, last = window.first, window.last
    if last <= first:
        return None
    starts = start_logits[first:last].astype(np.float64)
    ends = end_logits[first:last].astype(np.float64)
    n = len(starts)
    scores = starts[:, None] + ends[None, :]
    i, j = np.indices((n, n))
    scores[(j < i) | (j - i >= MAX_ANSWER_TOKENS)] = -np.inf
    flat = int(np.argmax(scores))
    s, e = divmod(flat, n)
    return Span(
        start=window.offsets[s][0],
        end=window.offsets[e][1],
        score=float(scores[s, e]),
        null=float(start_logits[0] + end_logits[0]),
    )
