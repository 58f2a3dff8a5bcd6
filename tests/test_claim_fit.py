"""How the LLM citation check's lift is fitted from the calibration questions' right
citations (`training.calibrate.fit_claim_lift`): the share of them the check keeps is the share
it was asked to keep, counting the ones the margin passes by itself. And the wrong citations
it is measured against (`training.calibrate.wrong_claims`)."""

from __future__ import annotations

import random

from qa.reader import Support, occurrences
from training.calibrate import (
    CLAIM_KEEP,
    CLAIM_MARGIN,
    WRONG_CITE_COST,
    Cited,
    fit_cite_threshold,
    fit_claim_lift,
    wrong_claims,
)


def kept(claims: list[Support], lift: float | None) -> int:
    return sum(
        c.margin is not None
        and (
            c.margin >= CLAIM_MARGIN or (lift is not None and c.lift is not None and c.lift >= lift)
        )
        for c in claims
    )


def test_the_lift_keeps_the_wanted_share_counting_what_the_margin_keeps() -> None:
    passed_by_margin = [Support(margin=2.0, lift=0.5) for _ in range(10)]
    needing_the_lift = [Support(margin=-3.0, lift=float(n)) for n in range(1, 11)]
    claims = passed_by_margin + needing_the_lift
    lift = fit_claim_lift(claims)
    assert lift == 2.0  # 19 of 20: the 10 the margin keeps, and lifts 10 down to 2
    assert kept(claims, lift) / len(claims) >= CLAIM_KEEP
    assert kept(claims, lift + 0.5) / len(claims) < CLAIM_KEEP  # no lower bar than needed


def test_no_lift_is_fitted_when_the_margin_alone_keeps_enough() -> None:
    claims = [Support(margin=1.0, lift=9.0)] * 19 + [Support(margin=-1.0, lift=1.0)]
    assert fit_claim_lift(claims) is None


def test_with_too_few_lifts_the_lowest_is_taken() -> None:
    claims = [Support(margin=-1.0, lift=3.0), Support(margin=-2.0, lift=None)]
    assert fit_claim_lift(claims) == 3.0


def test_the_cite_threshold_weighs_each_wrong_line_let_in_against_right_lines_kept() -> None:
    right = [float(m) for m in range(-19, 1)]  # -19 .. 0
    wrong = [-15.0, -12.0, None]
    threshold = fit_cite_threshold(right, wrong)
    # Down to -11 every right line gained costs nothing; -12 would gain one right line and
    # let one wrong one in, which counts as WRONG_CITE_COST of them.
    assert threshold == -11.0
    assert WRONG_CITE_COST > 1


def test_with_no_wrong_lines_every_right_line_is_kept() -> None:
    assert fit_cite_threshold([-7.0, -2.0, 3.0, None], [None, None]) == -7.0


def test_with_no_right_line_naming_its_answer_the_cite_threshold_is_zero() -> None:
    assert fit_cite_threshold([None], [-3.0]) == 0.0


BRIDGE = [
    "The bridge opened in 1932.",
    "Its architect was Ada Lane.",
    "It is 500 metres long.",
]


def test_a_wrong_claim_cites_words_the_line_states_for_a_question_answered_elsewhere() -> None:
    cited = [
        Cited(0, BRIDGE, 0, "When did the bridge open?", ["1932"]),
        Cited(0, BRIDGE, 1, "Who designed the bridge?", ["Ada Lane"]),
        Cited(0, BRIDGE, 2, "How long is the bridge?", ["500 metres"]),
    ]
    claims = wrong_claims(cited, random.Random(0))
    assert len(claims) == 3
    for claim, answer in claims:
        assert occurrences(claim.lines[claim.holder], answer)
        asked = next(c for c in cited if c.question == claim.question)
        assert asked.holder != claim.holder


def test_no_wrong_claim_is_made_with_a_question_the_line_also_answers() -> None:
    lines = ["The bridge opened in 1932 to a design by Ada Lane.", "Ada Lane also built the tower."]
    cited = [
        Cited(0, lines, 0, "When did the bridge open?", ["1932"]),
        Cited(0, lines, 1, "Who built the tower?", ["Ada Lane"]),
    ]
    claims = wrong_claims(cited, random.Random(0))
    # Line 0 names Ada Lane, so citing it for "1932" to "Who built the tower?" is not made.
    assert [(c.holder, c.question, a) for c, a in claims] == [
        (1, "When did the bridge open?", "Ada Lane")
    ]


def test_wrong_claims_pair_questions_of_the_same_article_only() -> None:
    cited = [
        Cited(0, BRIDGE, 0, "When did the bridge open?", ["1932"]),
        Cited(1, ["The river floods in May."], 0, "When does the river flood?", ["May"]),
    ]
    assert wrong_claims(cited, random.Random(0)) == []
