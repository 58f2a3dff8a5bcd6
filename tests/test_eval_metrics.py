"""Specification of the SQuAD-style answer metrics."""

from __future__ import annotations

import pytest

from evals.metrics import exact_match, f1, normalize_answer, percentile

# --- normalize_answer -------------------------------------------------------------------------


# One behaviour a test, so the tests below share their shape (deliberate).
def test_normalize_lowercases() -> None:
    assert normalize_answer("Paris") == "paris"


def test_normalize_removes_punctuation() -> None:
    assert normalize_answer("U.S.A.!") == "usa"


def test_normalize_removes_articles() -> None:
    assert normalize_answer("the cat ate a rat and an apple") == "cat ate rat and apple"


def test_normalize_keeps_articles_inside_words() -> None:
    assert normalize_answer("theory and anthem") == "theory and anthem"


def test_normalize_collapses_whitespace() -> None:
    assert normalize_answer("  New \t York\n City ") == "new york city"


def test_normalize_removes_punctuation_before_articles() -> None:
    # "the," only becomes a removable article once the comma is gone (official order).
    assert normalize_answer("The, end") == "end"


# --- exact_match ------------------------------------------------------------------------------


def test_exact_match_ignores_case_punctuation_and_articles() -> None:
    assert exact_match("The Eiffel Tower.", ["eiffel tower"]) == 1.0


def test_exact_match_is_zero_for_partial_answer() -> None:
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0


def test_exact_match_is_best_over_aliases() -> None:
    assert exact_match("1889", ["in 1889 AD", "1889"]) == 1.0


def test_exact_match_empty_prediction_is_correct_when_no_golds() -> None:
    assert exact_match("", []) == 1.0


def test_exact_match_nonempty_prediction_is_wrong_when_no_golds() -> None:
    assert exact_match("Paris", []) == 0.0


def test_exact_match_ignores_golds_that_normalise_to_nothing() -> None:
    # Like the official v2 script: "The." is no alias, so only "Paris" counts.
    assert exact_match("", ["The.", "Paris"]) == 0.0
    assert exact_match("Paris", ["The.", "Paris"]) == 1.0


def test_exact_match_rejects_a_bare_string_as_golds() -> None:
    with pytest.raises(TypeError):
        exact_match("a", "abc")


# --- f1 ---------------------------------------------------------------------------------------


def test_f1_is_one_for_identical_answers() -> None:
    assert f1("Eiffel Tower", ["the eiffel tower"]) == 1.0


def test_f1_gives_partial_credit_for_token_overlap() -> None:
    # pred: {eiffel}, gold: {eiffel, tower} -> P=1, R=0.5, F1=2/3
    assert f1("Eiffel", ["Eiffel Tower"]) == pytest.approx(2 / 3)


def test_f1_is_zero_without_common_tokens() -> None:
    assert f1("London", ["Paris"]) == 0.0


def test_f1_counts_repeated_tokens_with_multiplicity() -> None:
    # common = min(count) per token: {new: 1} -> P=1/2, R=1/3 -> F1=0.4
    assert f1("new new", ["new york city"]) == pytest.approx(0.4)


def test_f1_is_best_over_aliases() -> None:
    assert f1("Eiffel Tower", ["Paris", "Eiffel", "the Eiffel Tower"]) == 1.0
    assert f1("Eiffel", ["Paris", "Eiffel Tower"]) == pytest.approx(2 / 3)


def test_f1_is_one_when_both_sides_are_empty() -> None:
    assert f1("", []) == 1.0
    assert f1("the", [""]) == 1.0


def test_f1_is_zero_when_only_prediction_is_empty() -> None:
    assert f1("", ["Paris"]) == 0.0


def test_f1_is_zero_when_only_gold_is_empty() -> None:
    assert f1("Paris", []) == 0.0


def test_f1_returns_float() -> None:
    assert isinstance(f1("London", ["Paris"]), float)
    assert isinstance(exact_match("London", ["Paris"]), float)


# --- percentile -------------------------------------------------------------------------------


def test_percentile_of_empty_is_zero() -> None:
    assert percentile([], 50) == 0.0


def test_percentile_of_single_value_is_that_value() -> None:
    assert percentile([7.0], 95) == 7.0


def test_percentile_interpolates_linearly() -> None:
    # rank = 0.5 * 3 = 1.5 -> halfway between 2 and 3 (numpy "linear").
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    # rank = 0.95 * 3 = 2.85 -> 3 + 0.85 * (4 - 3)
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)


def test_percentile_does_not_require_sorted_input() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)


def test_percentile_endpoints_are_min_and_max() -> None:
    values = [5.0, -1.0, 3.0]
    assert percentile(values, 0) == -1.0
    assert percentile(values, 100) == 5.0


def test_percentile_does_not_modify_input() -> None:
    values = [3.0, 1.0, 2.0]
    percentile(values, 50)
    assert values == [3.0, 1.0, 2.0]


@pytest.mark.parametrize("q", [-0.1, 100.1, float("nan")])
def test_percentile_rejects_q_outside_0_to_100(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0, 2.0], q)
