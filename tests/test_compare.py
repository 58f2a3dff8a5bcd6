"""How a candidate answerer is judged against the one it would replace (`evals.compare`):
question by question, a measure worse only beyond its noise, the answer F1 never lower."""

from __future__ import annotations

from dataclasses import replace

import pytest

from evals.compare import at_least_as_good, compare, compare_shares
from evals.runner import QuestionResult


def _result(
    n: int, *, answerable: bool = True, right: bool = True, abstained: bool = False
) -> QuestionResult:
    return QuestionResult(
        id=f"q{n}",
        question="?",
        gold={"answerable": answerable},
        answer="" if abstained else "a",
        abstained=abstained,
        citations=[],
        correct=right,
        latency_ms=1.0,
        f1=1.0 if right and answerable and not abstained else 0.0,
        cited_gold=1 if right and answerable and not abstained else 0,
        cited_total=0 if abstained else 1,
        confidence=None if abstained else (0.9 if right else 0.2),
    )


def _run(wrong: set[int] = frozenset(), declined: set[int] = frozenset()) -> list:
    """150 answerable questions and 50 unanswerable ones (declined, rightly)."""
    answerable = [
        _result(n, right=n not in wrong and n not in declined, abstained=n in declined)
        for n in range(150)
    ]
    unanswerable = [_result(n, answerable=False, abstained=True) for n in range(150, 200)]
    return answerable + unanswerable


def _worse(before: list, after: list) -> set[str]:
    return {d.measure for d in compare(before, after) if d.worse}


def test_a_run_is_at_least_as_good_as_itself() -> None:
    run = _run(wrong={1, 2, 3}, declined={4})
    differences = compare(run, run)
    assert at_least_as_good(differences)
    assert all(d.se == 0 for d in differences)


def test_declining_many_more_answerable_questions_is_worse() -> None:
    before = _run(wrong=set(range(20)))
    after = _run(wrong=set(range(20)), declined=set(range(20, 50)))
    assert "false_abstention_rate" in _worse(before, after)
    assert not at_least_as_good(compare(before, after))


def test_one_more_declined_question_in_150_is_noise_but_not_for_the_headline() -> None:
    before = _run(wrong=set(range(20)), declined={20})
    after = _run(wrong=set(range(20)), declined={20, 21})
    # one more answerable question declined: false abstention is within its noise, but the
    # answer F1 is lower, and the headline may not be lower at all
    assert _worse(before, after) == {"answer_f1"}


def test_a_better_answer_f1_with_noise_elsewhere_is_at_least_as_good() -> None:
    before = _run(wrong=set(range(30)), declined={30})
    after = _run(wrong=set(range(20)), declined={30, 31})
    assert at_least_as_good(compare(before, after))


def test_runs_over_different_questions_are_not_compared() -> None:
    with pytest.raises(ValueError, match="same questions"):
        compare(_run(), _run()[:-1])


def test_a_check_that_keeps_a_dozen_fewer_of_145_citations_is_worse() -> None:
    before = [True] * 131 + [False] * 14
    after = [True] * 119 + [False] * 26
    assert compare_shares("citations_kept", before, after).worse


def test_a_check_that_keeps_one_fewer_of_145_citations_is_within_noise() -> None:
    before = [True] * 131 + [False] * 14
    after = [True] * 130 + [False] * 15
    assert not compare_shares("citations_kept", before, after).worse


def test_a_share_where_lower_is_better_is_worse_when_it_rises() -> None:
    # wrong citations accepted: 2 % -> 12 % of 600
    before = [True] * 12 + [False] * 588
    after = [True] * 72 + [False] * 528
    assert compare_shares("wrong_accepted", before, after, higher_is_better=False).worse


def test_shares_of_different_items_are_not_compared() -> None:
    with pytest.raises(ValueError, match="same items"):
        compare_shares("citations_kept", [True, False], [True])


def _said(run: list[QuestionResult], right: float, wrong: float) -> list[QuestionResult]:
    """The same answers with the confidence shown for right and for wrong ones changed."""
    return [
        replace(r, confidence=right if r.correct else wrong) if r.confidence is not None else r
        for r in run
    ]


def test_a_confidence_further_below_the_accuracy_is_judged_only_where_it_was_fitted() -> None:
    before = _said(_run(wrong=set(range(20))), right=0.8, wrong=0.3)
    after = _said(before, right=0.45, wrong=0.2)
    assert "confidence_ece" in _worse(before, after)
    unfitted = compare(before, after, fitted=False)
    assert at_least_as_good(unfitted)
    assert not next(d for d in unfitted if d.measure == "confidence_ece").judged


def test_a_confidence_above_the_accuracy_is_worse_even_where_it_was_not_fitted() -> None:
    before = _said(_run(wrong=set(range(40))), right=0.8, wrong=0.3)
    after = _said(before, right=0.95, wrong=0.95)
    worse = {d.measure for d in compare(before, after, fitted=False) if d.worse}
    assert "confidence_overconfidence" in worse
