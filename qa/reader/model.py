"""The trained reader as it ships: an ONNX file, its tokenizer and its calibration, package
data of `qa`, run on onnxruntime (no torch). Loaded once per process, in the background while
the index opens, like the embedding model."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import first_line
from qa.reader.decode import Span, best_span, decide, span_margin
from qa.reader.features import Featurizer, Question, Window, batch_arrays, load_tokenizer

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = "reader.onnx"
TOKENIZER_FILE = "tokenizer.json"
CALIBRATION_FILE = "calibration.json"
CARD_FILE = "MODEL_CARD.md"
_BATCH = 16  # windows per onnxruntime call; 8 lines of news fit in one


class ReaderModelError(Exception):
    """The shipped model cannot be used (missing or damaged files)."""


@dataclass(frozen=True)
class Passage:
    """A line to read, with the text around it in its document."""

    text: str
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Calibration:
    """How reader scores become decisions, fitted on SQuAD 2.0 dev articles held apart from
    the ones results are reported on (see the model card)."""

    answer_threshold: float  # below this margin the best span is not trusted: abstain
    rank_weight: float  # how much retrieval's order counts beside the reader's margin
    # confidence = sigmoid(scale * margin + log_prob_weight * log_prob + bias)
    confidence_scale: float
    confidence_bias: float
    cite_threshold: float  # a further line is cited only with at least this margin
    confidence_log_prob: float = 0.0
    # The margin a line must give another answerer's (an LLM's) claimed answer to support it.
    claim_threshold: float = 0.0
    # Or: how much asking the question must raise that margin over asking nothing (see
    # `ClaimChecker`). None in calibrations fitted before it existed: the margin alone decides.
    claim_lift: float | None = None
    # How the model was trained to decide: "line" (each window alone, its own [CLS] for "not
    # in this line") or "group" (one softmax over every line read, `decode.decide`).
    decision: str = "line"
    # Tokens of the neighbouring lines the model was trained to see around a line.
    context_before: int = 40
    context_after: int = 16

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        values: dict[str, Any] = {}
        for name, spec in cls.__dataclass_fields__.items():
            if name not in data:  # a file older than the field keeps its default
                if spec.default is MISSING:
                    raise KeyError(name)
                continue
            if data[name] is None and spec.default is None:  # not fitted: e.g. no lift needed
                values[name] = None
                continue
            kind = {"decision": str, "context_before": int, "context_after": int}.get(name, float)
            values[name] = kind(data[name])
        if values.get("decision", "line") not in ("line", "group"):
            raise ValueError(f"unknown decision {values['decision']!r}")
        return cls(**values)


def _broken(path: Path, err: BaseException | None = None) -> ReaderModelError:
    detail = first_line(err)[:120] if err else "not a file"
    reason = "missing" if not path.exists() else f"damaged ({detail})"
    return ReaderModelError(
        f"the reader model file {path} is {reason}; restore it with `git checkout -- "
        "qa/reader/model` in a checkout, or reinstall the package (pip install "
        "--force-reinstall qa-over-sources)"
    )


class ReaderModel:
    """Reads (question, line) pairs and returns the best span of each line and how sure the
    model is that the line holds the answer at all."""

    def __init__(self, folder: Path = MODEL_DIR) -> None:
        self.folder = folder
        self._session: Any = None
        self._featurizer: Featurizer | None = None
        self._calibration: Calibration | None = None
        self._error: ReaderModelError | None = None
        self._lock = threading.Lock()

    def warm(self) -> threading.Thread:
        """Start loading in the background; `read` waits for it if needed."""
        # Not a daemon: a process exiting while onnxruntime builds its session aborts in C++.
        thread = threading.Thread(target=self._load_quietly, name="reader-warmup", daemon=False)
        thread.start()
        return thread

    def _load_quietly(self) -> None:
        with contextlib.suppress(ReaderModelError):  # kept; the first `read` raises it
            self.load()

    def load(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            if self._error is not None:
                raise self._error
            started = time.perf_counter()
            try:
                self._featurizer, self._calibration, self._session = self._open()
            except ReaderModelError as err:
                log.debug("%s", err)
                self._error = err
                raise
            log.info(
                "reader model loaded from %s in %.2f s", self.folder, time.perf_counter() - started
            )

    def _open(self) -> tuple[Featurizer, Calibration, Any]:
        import onnxruntime as ort

        paths = {
            name: self.folder / name for name in (TOKENIZER_FILE, CALIBRATION_FILE, MODEL_FILE)
        }
        for path in paths.values():
            if not path.is_file():
                raise _broken(path)
        try:
            calibration = Calibration.load(paths[CALIBRATION_FILE])
        except Exception as err:
            raise _broken(paths[CALIBRATION_FILE], err) from err
        try:
            featurizer = Featurizer(
                load_tokenizer(str(paths[TOKENIZER_FILE])),
                before=calibration.context_before,
                after=calibration.context_after,
            )
        except Exception as err:
            raise _broken(paths[TOKENIZER_FILE], err) from err
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # BASIC includes constant folding, which turns the float16-stored word embeddings back
        # into float32 once, at load, not at every question (the matrix products stay int8).
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        try:
            session = ort.InferenceSession(
                str(paths[MODEL_FILE]), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:
            raise _broken(paths[MODEL_FILE], err) from err
        return featurizer, calibration, session

    @property
    def calibration(self) -> Calibration:
        self.load()
        assert self._calibration is not None
        return self._calibration

    def question(self, text: str) -> Question:
        self.load()
        assert self._featurizer is not None
        return self._featurizer.question(text)

    def read(self, question: Question, passages: list[Passage]) -> list[Span | None]:
        """The best span of each passage (None for an empty one). A long line is read in
        overlapping windows and keeps its best-scoring window's span."""
        self.load()
        assert self._featurizer is not None
        windows: list[Window] = []
        owner: list[int] = []
        for i, passage in enumerate(passages):
            for window in self._featurizer.windows(
                question, passage.text, passage.before, passage.after
            ):
                windows.append(window)
                owner.append(i)
        best: list[Span | None] = [None] * len(passages)
        start_logits: list[np.ndarray] = [np.empty(0)] * len(windows)
        end_logits: list[np.ndarray] = [np.empty(0)] * len(windows)
        group = self.calibration.decision == "group"
        # Similar lengths batched together: padding is the main waste.
        order = sorted(range(len(windows)), key=lambda w: len(windows[w].input_ids))
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            starts, ends = self._run([windows[w] for w in chunk])
            for row, w in enumerate(chunk):
                start_logits[w], end_logits[w] = starts[row], ends[row]
                span = best_span(windows[w], starts[row], ends[row])
                current = best[owner[w]]
                # A long line keeps its best window: by score when every window shares one
                # "no answer", by margin over its own [CLS] otherwise.
                if span is not None and (
                    current is None
                    or (span.score > current.score if group else span.margin > current.margin)
                ):
                    best[owner[w]] = span
        if group:
            return decide(best, windows, start_logits, end_logits)
        return best

    def margins(
        self, question: Question, passage: Passage, spans: list[tuple[int, int]]
    ) -> list[float | None]:
        """For each character span of the passage's line, how much the model prefers it as
        the answer to "not in this line" (the best of the windows that hold it; None when no
        window does). What checking another answerer's claim against the text needs: not the
        model's own best span, but its opinion of the claimed one."""
        self.load()
        assert self._featurizer is not None
        windows = self._featurizer.windows(question, passage.text, passage.before, passage.after)
        if not windows or not spans:
            return [None] * len(spans)
        starts, ends = self._run(windows)
        out: list[float | None] = []
        for start, end in spans:
            scored = [
                m
                for w, window in enumerate(windows)
                if (m := span_margin(window, starts[w], ends[w], start, end)) is not None
            ]
            out.append(max(scored) if scored else None)
        return out

    def _run(self, windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
        start, end = self._session.run(None, batch_arrays(windows))
        return start, end
