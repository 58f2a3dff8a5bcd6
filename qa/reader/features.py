"""What the reader model sees for one retrieved line, shared by training and inference so that
the two can never drift apart.

A window is `[CLS] question [SEP] before [M1] line [M2] after [SEP]`: the line being read is
set off by two marker tokens (BERT's unused vocabulary entries 1 and 2, which fine-tuning gives
a meaning), with the end of the previous line before it and the start of the next line after
it, so that "he" or "the attack" can be resolved. The model may only answer from the tokens
between the markers, or point at `[CLS]` to say "not in this line". A line longer than the
window is read in overlapping windows, so an answer at its end is still seen.

Written by hand: the windowing of `transformers`' question-answering pipeline knows nothing
of marked lines inside a longer context, and it needs torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

CLS, SEP, PAD = 101, 102, 0
LINE_OPEN, LINE_CLOSE = 1, 2  # [unused0], [unused1]
MAX_LEN = 256  # tokens in one window, the question and the markers included
MAX_QUESTION = 64  # tokens of the question kept; a longer one is cut (and the caller says so)
BEFORE = 24  # tokens of the previous line(s) shown before the line
AFTER = 8  # tokens of the next line(s) shown after it
OVERLAP = 64  # tokens shared by consecutive windows of one long line


@dataclass(frozen=True)
class Window:
    """One model input and how its answerable tokens map back to the line's characters."""

    input_ids: list[int]
    token_type_ids: list[int]
    first: int  # index of the line's first token in input_ids
    offsets: list[tuple[int, int]]  # character span in the line of each token from `first`

    @property
    def last(self) -> int:
        """Index one past the line's last token in input_ids."""
        return self.first + len(self.offsets)


@dataclass(frozen=True)
class Question:
    ids: list[int]
    cut: bool  # the question had more than MAX_QUESTION tokens


def load_tokenizer(path: str) -> Tokenizer:
    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class Featurizer:
    """Cuts (question, line, neighbours) into model windows."""

    def __init__(self, tokenizer: Tokenizer, before: int = BEFORE, after: int = AFTER) -> None:
        self.tokenizer = tokenizer
        self.before = before  # what the model was trained with (its calibration says)
        self.after = after

    def question(self, text: str) -> Question:
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        return Question(ids=ids[:MAX_QUESTION], cut=len(ids) > MAX_QUESTION)

    def windows(
        self, question: Question, line: str, before: str = "", after: str = ""
    ) -> list[Window]:
        encoded = self.tokenizer.encode(line, add_special_tokens=False)
        ids, offsets = encoded.ids, encoded.offsets
        room = MAX_LEN - len(question.ids) - 5  # CLS, SEP, two markers, SEP
        if not ids:
            return []
        if len(ids) <= room:
            spare = room - len(ids)
            left = self._tail(before, min(self.before, spare))
            right = self._head(after, min(self.after, spare - len(left)))
            return [self._window(question, ids, offsets, left, right)]
        # A long line: overlapping windows; the line's own text around each window is its
        # context, so no neighbours are added.
        out: list[Window] = []
        step = max(room - OVERLAP, 1)
        start = 0
        while True:
            end = min(start + room, len(ids))
            out.append(self._window(question, ids[start:end], offsets[start:end], [], []))
            if end == len(ids):
                return out
            start += step

    def _tail(self, text: str, n: int) -> list[int]:
        if n <= 0 or not text:
            return []
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        return ids[-n:]

    def _head(self, text: str, n: int) -> list[int]:
        if n <= 0 or not text:
            return []
        return self.tokenizer.encode(text, add_special_tokens=False).ids[:n]

    @staticmethod
    def _window(
        question: Question,
        ids: list[int],
        offsets: list[tuple[int, int]],
        left: list[int],
        right: list[int],
    ) -> Window:
        head = [CLS, *question.ids, SEP]
        body = [*left, LINE_OPEN, *ids, LINE_CLOSE, *right, SEP]
        return Window(
            input_ids=head + body,
            token_type_ids=[0] * len(head) + [1] * len(body),
            first=len(head) + len(left) + 1,
            offsets=list(offsets),
        )


def batch_arrays(windows: list[Window]) -> dict[str, np.ndarray]:
    """Pad a batch to its longest window (the model's three int64 inputs)."""
    width = max(len(w.input_ids) for w in windows)
    ids = np.zeros((len(windows), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for row, w in enumerate(windows):
        n = len(w.input_ids)
        ids[row, :n] = w.input_ids
        types[row, :n] = w.token_type_ids
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
