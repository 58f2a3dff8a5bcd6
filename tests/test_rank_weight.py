"""How calibration decides whether retrieval's rank counts beside the reader's margin
(`training.calibrate.choose_rank_weight`): only when weighing it measurably beats the margin
alone on the calibration questions."""

from __future__ import annotations

from training.calibrate import Asked, Read, choose_rank_weight


def _question(right_rank: int, right_margin: float, wrong_margin: float) -> Asked:
    """An answerable question with one right line and one wrong line (the other rank)."""
    wrong_rank = 5 if right_rank == 0 else 0
    return Asked(
        True,
        [
            Read(rank=right_rank, margin=right_margin, log_prob=-1.0, f1=1.0, gold_line=True),
            Read(rank=wrong_rank, margin=wrong_margin, log_prob=-1.0, f1=0.0, gold_line=False),
        ],
    )


def test_the_rank_counts_when_it_measurably_picks_better_lines() -> None:
    # The reader slightly prefers a wrong line retrieved low, every time.
    asked = [_question(right_rank=0, right_margin=1.0, wrong_margin=1.2) for _ in range(100)]
    weight, _, metrics, _ = choose_rank_weight(asked)
    assert weight > 0
    assert metrics["answer_f1"] == 1.0


def test_a_rank_weight_that_wins_by_a_question_or_two_is_not_kept() -> None:
    # The margin alone answers 98 of 100 right; weighing the rank fixes one more.
    asked = [_question(right_rank=3, right_margin=4.0, wrong_margin=0.0) for _ in range(98)]
    asked.append(_question(right_rank=0, right_margin=1.0, wrong_margin=1.2))
    asked.append(_question(right_rank=5, right_margin=1.0, wrong_margin=1.2))
    weight, _, _, trials = choose_rank_weight(asked)
    assert max(trials, key=lambda t: t[0])[1] > 0  # the grid's best does weigh the rank ...
    assert weight == 0.0  # ... but by too little to measure
