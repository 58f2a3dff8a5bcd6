"""Scores an answerer against a question set through the public `qa` API only.

The corpus is indexed into a fresh collection of its own, every question is asked as a user
would ask it, and answers, citations, abstentions and retrieval are scored.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.datasets import GoldQuestion
from evals.metrics import exact_match, f1, percentile
from qa import Answer, Assistant, Citation, Settings

# Fractions in 0..1; the report formats and charts these.
RATE_KEYS = (
    "answer_em",
    "answer_f1",
    "citation_precision",
    "citation_recall",
    "abstention_accuracy",
    "false_abstention_rate",
    "retrieval_recall_at_1",
    "retrieval_recall_at_5",
    "confidence_auroc",
    "confidence_ece",
    "confidence_overconfidence",
    "confidence_ece_by_chance",
)
METRIC_KEYS = (*RATE_KEYS, "latency_p50_ms", "latency_p95_ms", "n_questions")
# Why a question was scored wrong, one kind each (`failure_kind`).
FAILURE_KINDS = (
    "wrong_line",  # answered, but no cited line is a gold line
    "wrong_span",  # a gold line cited, but the answer's words are not the gold answer's
    "declined_answerable",
    "answered_unanswerable",
)


@dataclass
class QuestionResult:
    id: str
    question: str
    gold: dict[str, Any]
    answer: str
    abstained: bool
    citations: list[dict[str, Any]]
    correct: bool
    latency_ms: float
    f1: float = 0.0
    em: float = 0.0
    cited_gold: int = 0
    cited_total: int = 0
    retrieved: list[list[Place]] = field(default_factory=list)  # the lines of each hit
    mode: str = "reader"  # which answerer gave the answer (an LLM may fall back)
    confidence: float | None = None

    @property
    def failure(self) -> str | None:
        """Which of FAILURE_KINDS this is, or None when it was right."""
        if self.correct:
            return None
        if not self.gold["answerable"]:
            return "answered_unanswerable"
        if self.abstained:
            return "declined_answerable"
        return "wrong_line" if self.cited_gold == 0 else "wrong_span"

    def as_report(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "gold": self.gold,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": self.citations,
            "correct": self.correct,
            "failure": self.failure,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "latency_ms": round(self.latency_ms, 2),
        }


CORPUS_FORMATS = ("txt", "pdf")  # how `evaluate` may write the corpus before indexing it
Place = tuple[str, int | None, int]  # source, page (None: not paged), line


def _gold_lines(q: GoldQuestion) -> set[Place]:
    return {(c.source, c.page, line) for c in q.citations for line in c.lines}


def places(c: Citation) -> list[Place]:
    return [(c.source, c.page, n) for n in range(c.line_start, c.line_end + 1)]


def score_one(
    q: GoldQuestion, answer: Answer, retrieved: list[list[Place]], latency_ms: float
) -> QuestionResult:
    gold = _gold_lines(q)
    cited = [place for c in answer.citations for place in places(c)]
    result = QuestionResult(
        id=q.id,
        question=q.question,
        gold={
            "answers": q.answers,
            "answerable": q.answerable,
            "citations": [c.model_dump() for c in q.citations],
        },
        answer=answer.answer,
        abstained=answer.abstained,
        citations=[c.model_dump() for c in answer.citations],
        correct=False,
        latency_ms=latency_ms,
        retrieved=retrieved,
        mode=answer.mode,
        confidence=answer.confidence,
        cited_gold=sum(1 for c in cited if c in gold),
        cited_total=len(cited),
    )
    if q.answerable:
        if not answer.abstained:
            result.f1 = f1(answer.answer, q.answers)
            result.em = exact_match(answer.answer, q.answers)
        result.correct = not answer.abstained and result.f1 >= 0.5 and result.cited_gold > 0
    else:
        result.correct = answer.abstained
    return result


def answered_by(results: list[QuestionResult]) -> dict[str, int]:
    """How many answers each answerer gave: scoring an LLM means little if it fell back to
    the reader for many of them."""
    return dict(Counter(r.mode for r in results))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _answerable(results: list[QuestionResult]) -> list[QuestionResult]:
    return [r for r in results if r.gold["answerable"]]


def answers_given(results: list[QuestionResult]) -> list[QuestionResult]:
    """The questions answered, not abstained from: what confidence is scored on."""
    return [r for r in results if not r.abstained]


def answer_f1(results: list[QuestionResult]) -> float:
    return _mean([r.f1 for r in _answerable(results)])


def citation_precision(results: list[QuestionResult]) -> float:
    """Of the lines cited by answers given, the share that are gold lines."""
    answered = answers_given(results)
    total = sum(r.cited_total for r in answered)
    return sum(r.cited_gold for r in answered) / total if total else 0.0


def citation_recall(results: list[QuestionResult]) -> float:
    """The share of answerable questions whose answer cites at least one gold line."""
    return _mean([1.0 if r.cited_gold > 0 else 0.0 for r in _answerable(results)])


def abstention_accuracy(results: list[QuestionResult]) -> float:
    unanswerable = [r for r in results if not r.gold["answerable"]]
    return _mean([1.0 if r.abstained else 0.0 for r in unanswerable])


def false_abstention_rate(results: list[QuestionResult]) -> float:
    return _mean([1.0 if r.abstained else 0.0 for r in _answerable(results)])


def aggregate(results: list[QuestionResult]) -> dict[str, float]:
    answerable = _answerable(results)
    answered = answers_given(results)

    def recall_at(k: int) -> float:
        hits = []
        for r in answerable:
            gold = {
                (c["source"], c.get("page"), n) for c in r.gold["citations"] for n in c["lines"]
            }
            found = any(place in gold for hit in r.retrieved[:k] for place in hit)
            hits.append(1.0 if found else 0.0)
        return _mean(hits)

    latencies = [r.latency_ms for r in results]
    return {
        "answer_em": _mean([r.em for r in answerable]),
        "answer_f1": answer_f1(results),
        "citation_precision": citation_precision(results),
        "citation_recall": citation_recall(results),
        "abstention_accuracy": abstention_accuracy(results),
        "false_abstention_rate": false_abstention_rate(results),
        "retrieval_recall_at_1": recall_at(1),
        "retrieval_recall_at_5": recall_at(5),
        "confidence_auroc": confidence_auroc(answered),
        "confidence_ece": reliability(answered)[0],
        "confidence_overconfidence": overconfidence(answered),
        "confidence_ece_by_chance": ece_by_chance(answered),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "n_questions": float(len(results)),
    }


def failures(results: list[QuestionResult]) -> dict[str, int]:
    """How many questions failed in each way: where the loss is."""
    counts = Counter(r.failure for r in results if r.failure)
    return {kind: counts.get(kind, 0) for kind in FAILURE_KINDS}


def _scored(results: list[QuestionResult]) -> list[tuple[float, bool]]:
    return [(r.confidence, r.correct) for r in results if r.confidence is not None]


def confidence_auroc(answered: list[QuestionResult]) -> float:
    """How often a right answer's confidence is above a wrong one's (ties count half), over
    answered questions: 1.0 means the confidence alone separates them, 0.5 is chance."""
    scored = _scored(answered)
    right = [c for c, ok in scored if ok]
    wrong = [c for c, ok in scored if not ok]
    if not right or not wrong:
        return 0.0
    wins = sum((r > w) + 0.5 * (r == w) for r in right for w in wrong)
    return wins / (len(right) * len(wrong))


def reliability(
    answered: list[QuestionResult], bins: int = 10
) -> tuple[float, list[tuple[str, int, float, float]]]:
    """Expected calibration error over answered questions (equal-width bins of confidence,
    each weighted by its share), and the table: (bin, questions, mean confidence, share
    right)."""
    return _binned(_scored(answered), bins)


def overconfidence(answered: list[QuestionResult], bins: int = 10) -> float:
    """The part of the calibration error where the confidence shown is above the share of
    right answers (the same bins, each weighted by its share): what misleads a user into
    trusting a wrong answer. A confidence fitted where unanswerable questions are common
    (SQuAD 2.0) runs below the accuracy on a set where they are rare, and more so the more a
    reader gets right, so on such a set only this direction says the confidence got worse."""
    scored = _scored(answered)
    _, table = _binned(scored, bins)
    return sum(n / len(scored) * max(0.0, conf - share) for _, n, conf, share in table)


def ece_by_chance(
    answered: list[QuestionResult], bins: int = 10, draws: int = 200, seed: int = 0
) -> float:
    """The calibration error a perfectly calibrated confidence would still show on these
    answers: each answer drawn right with the probability its confidence states, the error
    averaged over `draws`. On a few hundred answers it is several points, so an ECE near it
    cannot be told from perfect calibration; an ECE bar under it cannot be shown met."""
    confidences = [c for c, _ in _scored(answered)]
    if not confidences:
        return 0.0
    rng = random.Random(seed)
    errors = [_binned([(c, rng.random() < c) for c in confidences], bins)[0] for _ in range(draws)]
    return sum(errors) / len(errors)


def _binned(
    scored: list[tuple[float, bool]], bins: int
) -> tuple[float, list[tuple[str, int, float, float]]]:
    table: list[tuple[str, int, float, float]] = []
    error = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in scored if low <= c < high or (b == bins - 1 and c == 1.0)]
        if not inside:
            continue
        mean_conf = sum(c for c, _ in inside) / len(inside)
        share = sum(1 for _, ok in inside if ok) / len(inside)
        error += len(inside) / len(scored) * abs(mean_conf - share)
        table.append((f"{low:.1f}-{high:.1f}", len(inside), mean_conf, share))
    return error, table


def evaluate(
    corpus: Path,
    questions: list[GoldQuestion],
    *,
    settings: Settings | None = None,
    data_dir: Path | None = None,
    mode: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    corpus_format: str = "txt",
) -> tuple[dict[str, float], list[QuestionResult]]:
    """Index `corpus` into a fresh collection and score every question against it. With
    `corpus_format="pdf"` the corpus's text files are written as PDFs first, and those are
    indexed and cited instead (evals.pdf_corpus)."""
    if corpus_format not in CORPUS_FORMATS:
        raise ValueError(f"unknown corpus format {corpus_format!r}: use txt or pdf")
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as scratch:
        names: dict[str, str] = {}
        indexed = corpus
        if corpus_format == "pdf":
            from evals.pdf_corpus import write_pdfs

            indexed = Path(scratch) / "pdf-corpus"
            names = write_pdfs(corpus, indexed)
        base = settings or Settings()
        assistant = Assistant(
            base.with_overrides(
                corpus=indexed,
                data_dir=data_dir or Path(scratch),
                collection=f"eval-{int(time.time() * 1000)}",
            )
        )
        if names:
            from evals.pdf_corpus import relocate

            questions = relocate(questions, corpus, names, assistant)
        try:
            results = _ask_all(assistant, questions, mode, on_progress)
        finally:
            assistant.drop_index()  # a scratch collection must not outlive the run
        return aggregate(results), results


def _ask_all(
    assistant: Assistant,
    questions: list[GoldQuestion],
    mode: str | None,
    on_progress: Callable[[int], None] | None,
) -> list[QuestionResult]:
    results = []
    for q in questions:
        started = time.perf_counter()
        answer = assistant.ask(q.question, history=[t.model_dump() for t in q.history], mode=mode)
        latency = (time.perf_counter() - started) * 1000
        retrieved = [places(r.cited) for r in assistant.retrieve(q.retrieval_query(), top_k=5)]
        results.append(score_one(q, answer, retrieved, latency))
        if on_progress:
            on_progress(1)
    return results
