"""How the LLM citation check's lift is fitted from the calibration questions' right
citations (`training.calibrate.fit_claim_lift`): the share of them the check keeps is the share
it was asked to keep, counting the ones the margin passes by itself."""

from __future__ import annotations

from qa.reader import Support
from training.calibrate import CLAIM_KEEP, CLAIM_MARGIN, fit_claim_lift


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
