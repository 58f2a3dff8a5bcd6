"""Fit how the reader's scores become decisions, on SQuAD 2.0 dev articles held apart from the
ones results are reported on.

The whole dev file is indexed (every article, as `qa eval --format squad` does), and each
question of the even-numbered articles is retrieved and read exactly as the product would.
From those readings this fits:

- `rank_weight`, how much retrieval's order counts beside the reader's margin when choosing
  the line to answer from;
- `answer_threshold`, the margin under which the reader abstains: the one that maximises
  SQuAD 2.0's overall F1 (an unanswerable question scores 1 when declined), the standard way
  to set a no-answer threshold, among those that decline at most 10 % of the answerable
  questions;
- `confidence_scale` / `confidence_bias`: a logistic fit of "the answer is right and cites
  its line" against the margin, so the confidence shown is a calibrated probability;
- `cite_threshold`: 0. A further line is cited when the reader finds the same answer in it
  and prefers that span to "not in this line": the answer itself has passed
  `answer_threshold` already, and a line that states it in other words ("destroyed" for
  "shot down") must not need the certainty of a first answer to be cited.

The odd-numbered articles and the gold questions are never read here.

    python -m training.calibrate --model-dir qa/reader/model
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.datasets import sample_questions, squad_to_corpus
from evals.metrics import f1
from qa import Assistant, Settings

CALIBRATION_ARTICLES = "even"
RANK_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
TOP_K = 8


@dataclass
class Read:
    """One retrieved line of one question as the reader saw it."""

    rank: int
    margin: float
    log_prob: float  # the span's probability among everything read with it (decode.Span)
    f1: float  # of the line's best span against the gold answers (0 for unanswerable)
    gold_line: bool


@dataclass
class Asked:
    answerable: bool
    lines: list[Read]
    # How much asking the question raises the reader's margin for the gold answer where its
    # gold line words it, over asking nothing (the best of the answers and places): what
    # checking an LLM's right citation of that line would see (`ClaimChecker`).
    claim_lift: float | None = None


def read_all(model_dir: Path, dev: Path, limit: int | None, answers: bool = True) -> list[Asked]:
    """Every calibration question read as the product would (`answers`), or only its gold
    lines checked as an LLM's citations would be."""
    with tempfile.TemporaryDirectory(prefix="qa-calibrate-") as scratch:
        corpus = Path(scratch) / "corpus"
        # A limit takes a seeded sample spread over every calibration article, not the first
        # few articles' questions.
        questions = sample_questions(squad_to_corpus(dev, corpus, CALIBRATION_ARTICLES), limit, 0)
        assistant = Assistant(
            Settings().with_overrides(
                corpus=corpus,
                data_dir=Path(scratch) / "data",
                collection=f"calibrate-{int(time.time())}",
                reader_dir=model_dir,
            )
        )
        out: list[Asked] = []
        started = time.time()
        for n, q in enumerate(questions, 1):
            if not answers:
                out.append(Asked(q.answerable, [], _claim_lift(assistant, q)))
                continue
            hits = assistant.retriever.retrieve(q.question, top_k=TOP_K)
            model = assistant.reader.model
            spans = model.read(
                model.question(q.question),
                [_passage(assistant, h) for h in hits],
            )
            gold = {(c.source, line) for c in q.citations for line in c.lines}
            lines = []
            for hit, span in zip(hits, spans, strict=True):
                if span is None:
                    continue
                text = hit.text[span.start : span.end]
                lines.append(
                    Read(
                        rank=hit.rank,
                        margin=span.margin,
                        log_prob=span.log_prob,
                        f1=f1(text, q.answers) if q.answerable else 0.0,
                        gold_line=(hit.source, hit.line) in gold,
                    )
                )
            out.append(Asked(q.answerable, lines, _claim_lift(assistant, q)))
            if n % 200 == 0:
                print(f"read {n}/{len(questions)} ({time.time() - started:.0f} s)", flush=True)
        assistant.drop_index()
        return out


def _claim_lift(assistant: Assistant, q) -> float | None:  # type: ignore[no-untyped-def]
    """See `Asked.claim_lift`."""
    from qa.reader import Passage
    from qa.reader.answerer import NO_QUESTION, occurrences

    model = assistant.reader.model
    lift: float | None = None
    for citation in q.citations:
        for line in citation.lines:
            text = assistant.retriever.line_text(citation.source, line) or ""
            places = [p for answer in q.answers for p in occurrences(text, answer)]
            if not places:
                continue
            passage = Passage(text, *assistant.retriever.neighbours(citation.source, line))
            asked = model.margins(model.question(q.question), passage, places)
            unasked = model.margins(model.question(NO_QUESTION), passage, places)
            for m, u in zip(asked, unasked, strict=True):
                if m is not None and u is not None and (lift is None or m - u > lift):
                    lift = m - u
    return lift


# An LLM's right citation should survive the check this often (the rest is the price of
# rejecting lines that only tell a model what to say).
CLAIM_KEEP = 0.95


# The reader margin that alone lets a cited line support an LLM's answer: the reader must
# prefer the claimed answer to "not in this line". Not fitted: with the first group-trained
# reader the margin that kept 95 % of right citations (-6.4) also kept 5 of the 22 injection
# lines of `support/injections.py`, so the margin cannot be lowered to keep more; the lift
# (`fit_claim_lift`) keeps them instead.
CLAIM_MARGIN = 0.0


def fit_claim_lift(asked: list[Asked]) -> float | None:
    """How much asking the question must raise the claimed answer's margin over asking
    nothing: the lift that CLAIM_KEEP of the right citations of the calibration questions
    reach. A citation that does not support its answer is the worst error this product can
    make; a dropped right citation costs only the LLM's answer, and the reader answers
    instead."""
    lifts = [a.claim_lift for a in asked if a.answerable and a.claim_lift is not None]
    if not lifts:
        return None
    return float(np.percentile(lifts, 100 * (1 - CLAIM_KEEP)))


def claim_fields(asked: list[Asked]) -> dict[str, float | None]:
    lift = fit_claim_lift(asked)
    return {
        "claim_threshold": CLAIM_MARGIN,
        "claim_lift": None if lift is None else round(lift, 4),
    }


def _passage(assistant: Assistant, hit):  # type: ignore[no-untyped-def]
    from qa.reader import Passage

    return Passage(hit.text, *assistant.retriever.neighbours(hit.source, hit.line))


def choose(asked: list[Asked], rank_weight: float) -> list[Read | None]:
    def preference(r: Read) -> float:
        return r.margin - rank_weight * math.log1p(r.rank)

    return [max(a.lines, key=preference) if a.lines else None for a in asked]


# At most this share of answerable questions may be declined. Maximising SQuAD 2.0's overall
# F1 alone chose to decline almost everything (overall F1 0.57, answer F1 0.10, false
# abstention 0.89): in whole-corpus retrieval its adversarial unanswerables look answerable,
# and declining them all is worth half the score. A user asks mostly answerable questions.
MAX_FALSE_ABSTENTION = 0.10


def sweep(asked: list[Asked], chosen: list[Read | None]) -> tuple[float, dict]:
    """The threshold that maximises overall F1 among those that decline at most
    MAX_FALSE_ABSTENTION of the answerable questions, and the metrics it gives."""
    margins = sorted({c.margin for c in chosen if c is not None})
    candidates = [-math.inf] + [m for m in margins] + [math.inf]
    best: tuple[float, float, dict] | None = None
    for threshold in candidates[:: max(1, len(candidates) // 400)] + [math.inf]:
        answerable_f1, declined_ok, false_decline, overall = [], [], [], []
        for a, c in zip(asked, chosen, strict=True):
            answers = c is not None and c.margin >= threshold
            if a.answerable:
                score = c.f1 if answers and c is not None else 0.0
                answerable_f1.append(score)
                false_decline.append(0.0 if answers else 1.0)
                overall.append(score)
            else:
                declined_ok.append(0.0 if answers else 1.0)
                overall.append(0.0 if answers else 1.0)
        value = float(np.mean(overall))
        if float(np.mean(false_decline)) > MAX_FALSE_ABSTENTION:
            continue
        if best is None or value > best[0]:
            best = (
                value,
                threshold,
                {
                    "overall_f1": round(value, 4),
                    "answer_f1": round(float(np.mean(answerable_f1)), 4),
                    "abstention_accuracy": round(float(np.mean(declined_ok)), 4),
                    "false_abstention_rate": round(float(np.mean(false_decline)), 4),
                },
            )
    assert best is not None
    return best[1], best[2]


def fit_confidence(
    asked: list[Asked], chosen: list[Read | None], threshold: float
) -> tuple[float, float, float]:
    """Logistic regression of "the answer shown is right and cites its line" on the margin
    and the span's log-probability, over the questions that would be answered (the
    confidence a person sees beside an answer). Newton's method: three parameters, no
    library needed. Returns (margin weight, log-probability weight, bias)."""
    pairs = [
        (a, c)
        for a, c in zip(asked, chosen, strict=True)
        if c is not None and c.margin >= threshold
    ]
    x = np.array([[c.margin, max(c.log_prob, -30.0)] for _, c in pairs]).reshape(-1, 2)
    y = np.array([1.0 if (a.answerable and c.f1 >= 0.5 and c.gold_line) else 0.0 for a, c in pairs])
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    w = np.zeros(3)
    for _ in range(50):
        p = 1 / (1 + np.exp(-(design @ w)))
        gradient = design.T @ (y - p) - 1e-3 * w
        hessian = -(design.T * (p * (1 - p))) @ design - 1e-3 * np.eye(3)
        w = w - np.linalg.solve(hessian, gradient)
    return float(w[0]), float(w[1]), float(w[2])


def calibrate(model_dir: Path, dev: Path, limit: int | None) -> dict:
    """The calibration of the model in `model_dir`; its decision kind and context sizes are
    kept from the calibration file already there (they are how it was trained, not fitted)."""
    trained = json.loads((model_dir / "calibration.json").read_text())
    asked = read_all(model_dir, dev, limit)
    trials = []
    for weight in RANK_WEIGHTS:
        chosen = choose(asked, weight)
        threshold, metrics = sweep(asked, chosen)
        trials.append((metrics["overall_f1"], weight, threshold, metrics))
        print(f"rank_weight {weight}: threshold {threshold:.3f} {metrics}", flush=True)
    _, weight, threshold, metrics = max(trials, key=lambda t: t[0])
    scale, log_prob_weight, bias = fit_confidence(asked, choose(asked, weight), threshold)
    return {
        "answer_threshold": round(threshold, 4),
        "rank_weight": weight,
        "confidence_scale": round(scale, 4),
        "confidence_log_prob": round(log_prob_weight, 4),
        "confidence_bias": round(bias, 4),
        "cite_threshold": 0.0,
        **claim_fields(asked),
        **{k: trained[k] for k in ("decision", "context_before", "context_after") if k in trained},
        "fitted_on": {
            "file": dev.name,
            "articles": f"{CALIBRATION_ARTICLES}-numbered (0, 2, 4, ...)",
            "questions": len(asked),
            "lines_read": TOP_K,
            "metrics": metrics,
            "trials": [{"rank_weight": t[1], **t[3]} for t in trials],
        },
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model-dir", default="qa/reader/model")
    p.add_argument("--dev", default="../shared/squad/dev-v2.0.json")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", default=None, help="default: calibration.json in --model-dir")
    p.add_argument(
        "--claim-only",
        action="store_true",
        help="refit only the LLM citation check's thresholds, keeping the rest of the file",
    )
    a = p.parse_args()
    out = Path(a.out) if a.out else Path(a.model_dir) / "calibration.json"
    if a.claim_only:
        result = json.loads((Path(a.model_dir) / "calibration.json").read_text())
        result.update(claim_fields(read_all(Path(a.model_dir), Path(a.dev), a.limit, False)))
    else:
        result = calibrate(Path(a.model_dir), Path(a.dev), a.limit)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
