"""How `qa eval` reports whether its confidence is calibrated: the expected calibration error,
and beside it the error a perfectly calibrated confidence would still show on as many answers
(`evals.runner.ece_by_chance`), so a figure can be read against its noise."""

from __future__ import annotations

from evals.runner import QuestionResult, ece_by_chance, overconfidence, reliability


def _answered(confidence: float, right: bool) -> QuestionResult:
    return QuestionResult(
        id="q",
        question="?",
        gold={"answerable": True},
        answer="a",
        abstained=False,
        citations=[],
        correct=right,
        latency_ms=1.0,
        confidence=confidence,
    )


def test_an_answerer_right_as_often_as_it_says_has_no_calibration_error() -> None:
    answers = [_answered(0.75, n % 4 != 0) for n in range(100)]
    error, table = reliability(answers)
    assert abs(error) < 1e-9
    assert table == [("0.7-0.8", 100, 0.75, 0.75)]


def test_perfect_calibration_still_shows_an_error_on_few_answers() -> None:
    few = [_answered(0.5, True) for _ in range(100)]
    # The share right among 100 coin flips strays from 0.5 by about 0.04 on average.
    assert 0.02 < ece_by_chance(few) < 0.06


def test_the_error_by_chance_shrinks_as_answers_grow() -> None:
    few = [_answered(0.5, True) for _ in range(100)]
    many = [_answered(0.5, True) for _ in range(10_000)]
    assert ece_by_chance(many) < ece_by_chance(few) / 5


def test_no_answers_have_no_error_by_chance() -> None:
    assert ece_by_chance([]) == 0.0


def test_overconfidence_counts_only_confidence_above_the_share_right() -> None:
    # 0.9 said, 0.5 right: over by 0.4 on half the answers; 0.2 said, 0.9 right: under.
    over = [_answered(0.9, n % 2 == 0) for n in range(50)]
    under = [_answered(0.2, n % 10 != 0) for n in range(50)]
    assert abs(overconfidence(over + under) - 0.2) < 1e-9
    assert abs(reliability(over + under)[0] - 0.55) < 1e-9
