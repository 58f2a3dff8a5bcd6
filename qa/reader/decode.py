"""From the model's start/end scores to the best span of each line and the decision over all
the lines read. Written by hand: it is a few lines of numpy, and the decoders that ship with
`transformers` need torch and know nothing of the line markers or of groups of lines."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qa.reader.features import Window

MAX_ANSWER_TOKENS = 30


@dataclass(frozen=True)
class Span:
    """The best answer a line offers."""

    start: int  # character offsets in the line
    end: int
    score: float  # start + end logit of the span
    null: float  # start + end logit of "no answer" (the window's or the group's, see `decide`)
    log_prob: float = 0.0  # log-probability of this span among every option read with it
    line_null: float | None = None  # the window's own `[CLS]` once `decide` replaced `null`

    @property
    def margin(self) -> float:
        """How much the model prefers this span to saying the answer is not there."""
        return self.score - self.null

    @property
    def line_margin(self) -> float:
        """How much the model prefers this span to "not in this line" (its own window's
        `[CLS]`), even when `margin` is against "none of the lines read": whether a line states
        an answer is a question about that line, not about the group."""
        return self.score - (self.null if self.line_null is None else self.line_null)


def best_span(window: Window, start_logits: np.ndarray, end_logits: np.ndarray) -> Span | None:
    """The highest-scoring span inside the line's tokens, at most MAX_ANSWER_TOKENS long,
    against this window's own `[CLS]` ("not in this line")."""
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
    null = float(start_logits[0] + end_logits[0])
    log_z = _logsumexp(np.append(starts, start_logits[0])) + _logsumexp(
        np.append(ends, end_logits[0])
    )
    return Span(
        start=window.offsets[s][0],
        end=window.offsets[e][1],
        score=float(scores[s, e]),
        null=null,
        log_prob=float(scores[s, e]) - log_z,
    )


def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    return top + float(np.log(np.sum(np.exp(x - top))))


def decide(
    spans: list[Span | None],
    windows: list[Window],
    start_logits: list[np.ndarray],
    end_logits: list[np.ndarray],
) -> list[Span | None]:
    """The spans re-scored as one decision over every window read for a question, the way the
    group-trained reader was trained (`training.train.group_log_probs`): one softmax over the
    line tokens of all windows plus one "no answer" option, whose score is the mean, in
    probability, of the windows' `[CLS]` scores. Margins are then comparable across lines,
    and a margin below zero means the model prefers "none of these lines answers"."""
    if not windows:
        return spans
    cls_s = np.array([s[0] for s in start_logits], dtype=np.float64)
    cls_e = np.array([e[0] for e in end_logits], dtype=np.float64)
    null_s = _logsumexp(cls_s) - np.log(len(cls_s))
    null_e = _logsumexp(cls_e) - np.log(len(cls_e))
    tokens_s = np.concatenate(
        [s[w.first : w.last] for s, w in zip(start_logits, windows, strict=True)] + [[null_s]]
    )
    tokens_e = np.concatenate(
        [e[w.first : w.last] for e, w in zip(end_logits, windows, strict=True)] + [[null_e]]
    )
    log_z = _logsumexp(tokens_s.astype(np.float64)) + _logsumexp(tokens_e.astype(np.float64))
    null = float(null_s + null_e)
    return [
        None if s is None else replace(s, null=null, log_prob=s.score - log_z, line_null=s.null)
        for s in spans
    ]


def token_span(window: Window, start: int, end: int) -> tuple[int, int] | None:
    """The positions in `input_ids` of the first and last token of the line's characters
    [start, end), or None when they are not wholly inside the window's line tokens. Training
    labels answers with it, and checking a claimed answer scores it."""
    offsets = window.offsets
    if not offsets or start < offsets[0][0] or end > offsets[-1][1]:
        return None
    first = next((t for t, (_, e) in enumerate(offsets) if e > start), None)
    last = next((t for t in range(len(offsets) - 1, -1, -1) if offsets[t][0] < end), None)
    if first is None or last is None or last < first:
        return None
    return window.first + first, window.first + last


def span_margin(
    window: Window, start_logits: np.ndarray, end_logits: np.ndarray, start: int, end: int
) -> float | None:
    """How much the model prefers the line's characters [start, end) as the answer over "not
    in this line" (its start + end score minus the window's `[CLS]`), or None when the span
    is not wholly inside the window's line tokens or is longer than an answer may be."""
    tokens = token_span(window, start, end)
    if tokens is None or tokens[1] - tokens[0] >= MAX_ANSWER_TOKENS:
        return None
    score = start_logits[tokens[0]] + end_logits[tokens[1]]
    return float(score - (start_logits[0] + end_logits[0]))
