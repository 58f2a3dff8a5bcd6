"""Is a candidate answerer at least as good as the one it would replace, on one question set?

Two runs over the same questions differ by a few questions on most measures, and a few
questions in a few hundred is noise: a candidate that loses 0.004 of citation precision has
not measurably lost anything, and one that gains 0.02 of F1 may not have gained anything
either. So each measure is compared as a paired difference with its bootstrap standard error
(the questions resampled with replacement, both runs scored on the same resample), and a
measure counts as worse only when the candidate trails by more than `WORSE_SE` standard
errors. The headline measure (answer F1) must not trail at all.

Written by hand: the bootstrap is a dozen lines, and the measures are this project's
(`evals.runner`), which no statistics library knows.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from evals.runner import (
    QuestionResult,
    abstention_accuracy,
    answer_f1,
    answers_given,
    citation_precision,
    citation_recall,
    confidence_auroc,
    false_abstention_rate,
    overconfidence,
    reliability,
)

# How many standard errors a candidate may trail on a measure before it counts as worse: the
# same two the reader's calibration asks of a rank weight's gain (`training.calibrate`).
WORSE_SE = 2.0
HEADLINE = "answer_f1"
T = TypeVar("T")


# Each judged measure (as `evals.runner.aggregate` reports it) and whether higher is better.
# Not judged: latency (a machine's noise), retrieval recall (the reader does not change it),
# the calibration error by chance (a reference, not a result).
MEASURES: dict[str, tuple[Callable[[list[QuestionResult]], float], bool]] = {
    "answer_f1": (answer_f1, True),
    "citation_precision": (citation_precision, True),
    "citation_recall": (citation_recall, True),
    "abstention_accuracy": (abstention_accuracy, True),
    "false_abstention_rate": (false_abstention_rate, False),
    "confidence_auroc": (lambda rs: confidence_auroc(answers_given(rs)), True),
    "confidence_ece": (lambda rs: reliability(answers_given(rs))[0], False),
    "confidence_overconfidence": (lambda rs: overconfidence(answers_given(rs)), False),
}
# Judged only on a set the confidence was fitted for: elsewhere a confidence that runs below
# the accuracy grows with every answer a better reader gets right (`overconfidence`), so
# the error in both directions is reported there, and only over-confidence judged.
FITTED_ONLY = frozenset({"confidence_ece"})


@dataclass(frozen=True)
class Difference:
    """One measure of two runs over the same questions."""

    measure: str
    before: float
    after: float
    se: float  # bootstrap standard error of after - before
    higher_is_better: bool
    judged: bool = True  # False: reported only (`FITTED_ONLY`)

    @property
    def gain(self) -> float:
        """after - before, signed so that a positive gain is better."""
        change = self.after - self.before
        return change if self.higher_is_better else -change

    @property
    def worse(self) -> bool:
        """Trails by more than noise (for the headline, by anything at all)."""
        if not self.judged:
            return False
        if self.measure == HEADLINE:
            return self.gain < 0
        return self.gain < 0 and -self.gain > WORSE_SE * self.se


def _paired_draws(
    pairs: list[tuple[T, T]], draws: int, seed: int
) -> Iterator[tuple[list[T], list[T]]]:
    """Bootstrap resamples of paired items (drawn with replacement, both runs on the same
    draw), each split into the two runs' sides: what every comparison here measures on."""
    rng = random.Random(seed)
    for _ in range(draws):
        drawn = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        yield [p[0] for p in drawn], [p[1] for p in drawn]


def compare(
    before: list[QuestionResult],
    after: list[QuestionResult],
    draws: int = 300,
    seed: int = 0,
    *,
    fitted: bool = True,
) -> list[Difference]:
    """Every measure of `after` against `before`, paired question by question. `fitted`:
    whether the confidence was calibrated on questions like these (the SQuAD articles), or
    not (the gold set), which decides whether its calibration error is judged."""
    by_id = {r.id: r for r in after}
    if {r.id for r in before} != set(by_id):
        raise ValueError("the two runs did not answer the same questions")
    pairs = [(r, by_id[r.id]) for r in before]
    samples: dict[str, list[float]] = {name: [] for name in MEASURES}
    for a, b in _paired_draws(pairs, draws, seed):
        for name, (measure, _) in MEASURES.items():
            samples[name].append(measure(b) - measure(a))
    return [
        Difference(
            measure=name,
            before=measure(before),
            after=measure(after),
            se=statistics.pstdev(samples[name]) if draws > 1 else 0.0,
            higher_is_better=higher,
            judged=fitted or name not in FITTED_ONLY,
        )
        for name, (measure, higher) in MEASURES.items()
    ]


def compare_shares(
    measure: str,
    before: Sequence[bool],
    after: Sequence[bool],
    *,
    higher_is_better: bool = True,
    draws: int = 300,
    seed: int = 0,
) -> Difference:
    """One share (citations kept, injections rejected) of two checks over the same items,
    paired item by item and judged like the measures above: `before[i]` and `after[i]` are
    the two verdicts on item i. Not the headline: worse only beyond `WORSE_SE` errors."""
    if len(before) != len(after):
        raise ValueError("the two checks did not judge the same items")
    pairs = list(zip(before, after, strict=True))

    def share(values: Sequence[bool]) -> float:
        return sum(values) / len(values) if values else 0.0

    samples = [share(b) - share(a) for a, b in _paired_draws(pairs, draws if pairs else 0, seed)]
    return Difference(
        measure=measure,
        before=share(before),
        after=share(after),
        se=statistics.pstdev(samples) if len(samples) > 1 else 0.0,
        higher_is_better=higher_is_better,
    )


def at_least_as_good(differences: list[Difference]) -> bool:
    """The headline not lower, and no other measure worse by more than its noise."""
    return not any(d.worse for d in differences)


def table(differences: list[Difference]) -> str:
    """A markdown table of the comparison, the verdict on each measure in its last column."""
    rows = [
        "| measure | before | after | change | 2 SE | worse? |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for d in differences:
        rows.append(
            f"| {d.measure} | {d.before:.3f} | {d.after:.3f} | {d.after - d.before:+.3f} | "
            f"{WORSE_SE * d.se:.3f} | {_verdict(d)} |"
        )
    return "\n".join(rows)


def _verdict(d: Difference) -> str:
    if not d.judged:
        return "not judged"
    return "WORSE" if d.worse else "no"
