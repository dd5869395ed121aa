"""Earned autonomy: the Wilson bar, what a record still needs, and where shadow applies."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from healer.trust import (
    Autonomy,
    Mode,
    Result,
    ShadowScope,
    TrustBar,
    TrustRecord,
    records,
    standing,
    wilson_lower_bound,
)

BAR = TrustBar(min_outcomes=5, min_success=0.6, rebuild=3)


def record(*results: Result) -> TrustRecord:
    return TrustRecord(action="clear_disk_space", runbook="disk-full", results=results)


def test_wilson_lower_bound_matches_the_textbook_values() -> None:
    assert wilson_lower_bound(0, 0) == 0.0
    assert math.isclose(wilson_lower_bound(5, 5), 5 / (5 + 1.959964**2), rel_tol=1e-9)
    assert math.isclose(wilson_lower_bound(8, 10), 0.4902, abs_tol=1e-3)


@given(st.integers(0, 200), st.integers(1, 200))
def test_the_lower_bound_never_exceeds_the_raw_rate(successes: int, n: int) -> None:
    successes = min(successes, n)
    assert 0.0 <= wilson_lower_bound(successes, n) <= successes / n + 1e-12


def test_five_of_five_is_not_enough_six_of_six_is() -> None:
    five = standing(record(*[Result.RECOVERED] * 5), BAR)
    assert not five.trusted and five.needs == 1
    assert "needs 1 more success" in five.why and "0.57" in five.why
    assert standing(record(*[Result.RECOVERED] * 6), BAR).trusted


def test_one_failure_demotes_a_long_record_until_successes_rebuild_it() -> None:
    long = [Result.RECOVERED] * 50
    assert standing(record(*long), BAR).trusted
    after = standing(record(*long, Result.NOT_RECOVERED), BAR)
    assert not after.trusted and after.needs == 3
    assert "0 of 3 successes in a row since the last failure" in after.why
    assert standing(record(*long, Result.NOT_RECOVERED, *[Result.RECOVERED] * 3), BAR).trusted


def test_shadow_agreement_counts_for_and_rejection_against() -> None:
    assert standing(record(*[Result.AGREED] * 6), BAR).trusted
    rejected = standing(record(*[Result.AGREED] * 6, Result.REJECTED), BAR)
    assert not rejected.trusted


def test_an_unreachable_bar_says_many() -> None:
    strict = TrustBar(min_outcomes=1, min_success=1.0, rebuild=1)
    assert standing(record(Result.RECOVERED), strict).why.endswith("needs many")


def test_records_group_outcomes_by_action_and_runbook_in_order() -> None:
    found = records(
        [
            ("scale_out", "traffic", Result.RECOVERED),
            ("clear_disk_space", "disk", Result.REJECTED),
            ("scale_out", "traffic", Result.NOT_RECOVERED),
        ]
    )
    assert found[("scale_out", "traffic")].results == (Result.RECOVERED, Result.NOT_RECOVERED)
    assert found[("clear_disk_space", "disk")].since_failure == 0


def test_shadow_scopes_win_over_the_action_mode() -> None:
    autonomy = Autonomy(
        default=Mode.AUTOPILOT,
        actions={"scale_out": Mode.EARNED},
        shadow=(ShadowScope(tag="Environment=stag*"), ShadowScope(account="111111111111")),
    )
    assert autonomy.mode("scale_out", "222222222222", {"Environment": "prod"}) is Mode.EARNED
    assert autonomy.mode("restart_service", "222", {}) is Mode.AUTOPILOT
    assert autonomy.mode("scale_out", "222", {"Environment": "staging-2"}) is Mode.SHADOW
    assert autonomy.mode("restart_service", "111111111111", {}) is Mode.SHADOW
    assert not ShadowScope().covers("111111111111", {"Environment": "staging"})
