"""How calibration decides whether retrieval's rank counts beside the reader's margin
(`training.calibrate.choose_rank_weight`): only when weighing it measurably beats the margin
alone on calibration questions its threshold was not fitted on."""

from __future__ import annotations

import numpy as np

from training.calibrate import Asked, Read, choose, choose_rank_weight, held_out_scores


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


def _answerable(margin: float) -> Asked:
    """An answerable question read right from its top line."""
    return Asked(True, [Read(rank=0, margin=margin, log_prob=-1.0, f1=1.0, gold_line=True)])


def _unanswerable(top_margin: float, low_margin: float) -> Asked:
    """An unanswerable question with a line at rank 0 and one retrieved low."""
    return Asked(
        False,
        [
            Read(rank=0, margin=top_margin, log_prob=-1.0, f1=0.0, gold_line=False),
            Read(rank=5, margin=low_margin, log_prob=-1.0, f1=0.0, gold_line=False),
        ],
    )


def test_the_rank_counts_when_it_measurably_picks_better_lines() -> None:
    # The reader slightly prefers a wrong line retrieved low, every time.
    asked = [_question(right_rank=0, right_margin=1.0, wrong_margin=1.2) for _ in range(100)]
    best, _ = choose_rank_weight(asked)
    assert best.weight > 0
    assert best.metrics["answer_f1"] == 1.0


def test_a_rank_weight_that_wins_by_a_question_or_two_is_not_kept() -> None:
    # The margin alone answers 98 of 100 right; weighing the rank fixes one more.
    asked = [_question(right_rank=3, right_margin=4.0, wrong_margin=0.0) for _ in range(98)]
    asked.insert(10, _question(right_rank=0, right_margin=1.0, wrong_margin=1.2))
    asked.insert(60, _question(right_rank=5, right_margin=1.0, wrong_margin=1.2))
    best, trials = choose_rank_weight(asked)
    assert max(trials, key=lambda t: t.metrics["overall_f1"]).weight > 0  # the grid's best ...
    assert best.weight == 0.0  # ... but by too little to measure


def test_each_fold_is_scored_at_a_threshold_fitted_without_it() -> None:
    # The first fold's articles hold every unanswerable question: fitted on all questions, a
    # threshold of 1.0 declines them and scores 1.0, but the other folds never show why to
    # decline anything, so held out the first fold's questions are answered.
    asked = [_unanswerable(top_margin=0.0, low_margin=0.0) for _ in range(20)]
    asked += [_answerable(1.0) for _ in range(80)]
    scores = held_out_scores(asked, choose(asked, 0.0))
    assert list(scores[:20]) == [0.0] * 20
    assert float(np.mean(scores)) == 0.8


def test_a_rank_weight_whose_gain_shows_only_where_its_threshold_was_fitted_is_not_kept() -> None:
    # Weighing the rank makes the unanswerable questions' chosen lines score lower than every
    # answerable one's, which a threshold fitted on all questions exploits (overall F1 0.8 ->
    # 1.0); but they all sit in one fold (the first articles), and held out it gains nothing.
    asked = [_unanswerable(top_margin=0.5, low_margin=2.0) for _ in range(20)]
    asked += [_answerable(1.0) for _ in range(80)]
    best, trials = choose_rank_weight(asked)
    in_sample = max(trials, key=lambda t: t.metrics["overall_f1"])
    assert in_sample.weight > 0 and in_sample.metrics["overall_f1"] == 1.0
    assert best.weight == 0.0
