"""Estimate against actual for capacity an action added, and what a miss changes."""

from __future__ import annotations

from pathlib import Path

from healer.cases import load_case
from healer.config import HealerSettings
from healer.replay import replay_case
from healer.store import SqliteStore

CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"
SURGE = CASES / "dev-traffic-surge-api.yaml"
REGISTRATION = CASES / "dev-registration-opening-surge.yaml"
DISK = CASES / "dev-disk-full-web.yaml"


def replay(path: Path, store: SqliteStore, settings: HealerSettings):  # type: ignore[no-untyped-def]
    return replay_case(load_case(path), path, store, settings)


def checks(store: SqliteStore, incident_id: str) -> list[dict]:  # type: ignore[type-arg]
    return [e.data for e in store.events(incident_id) if e.kind == "cost_checked"]


def test_a_scale_out_is_costed_from_what_ran_over_the_estimates_horizon(
    store: SqliteStore, settings: HealerSettings
) -> None:
    [incident] = replay(SURGE, store, settings).incidents

    [check] = checks(store, incident.id)
    assert check["estimate_usd"] == 46.08 and check["instances"] == 10
    assert check["final"] and check["hours_observed"] == 24.0
    assert abs(check["actual_usd"] - 46.08) < 0.1 and not check["missed"]
    assert check["actual_breakdown"].startswith("10 × m5.xlarge: ")


def test_an_action_that_adds_no_capacity_gets_no_cost_check(
    store: SqliteStore, settings: HealerSettings
) -> None:
    [incident] = replay(DISK, store, settings).incidents
    assert checks(store, incident.id) == []


def test_after_its_formula_missed_a_cheap_scale_out_no_longer_runs_alone(
    store: SqliteStore, settings: HealerSettings
) -> None:
    [first] = replay(REGISTRATION, store, settings).incidents
    assert first.governance is not None and first.governance.decision == "auto_heal"
    store.append(
        "inc-earlier",
        "cost_checked",
        "system:costs",
        {"formula": "added_capacity_24h", "final": True, "missed": True, "ratio": 3.2},
    )

    [second] = replay(REGISTRATION, store, settings).incidents

    assert second.governance is not None and second.governance.decision == "needs_approval"
    assert any(
        "cost may be wrong: the added_capacity_24h estimate missed" in r
        for r in second.governance.reasons
    )
