"""Estimate against actual for capacity an action added, and what a miss changes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from healer.cases import load_case
from healer.config import HealerSettings
from healer.intake import Delivery, deliver
from healer.replay import ReplayClock, replay_case, sandbox_for
from healer.store import SqliteStore
from healer.workflow.costs import check_cost
from healer.workflow.runner import run_incident

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
    assert check["actual_breakdown"].endswith(
        "240.00 added instance-hours × m5.xlarge × $0.192/h = $46.08"
    )


def test_an_action_that_adds_no_capacity_gets_no_cost_check(
    store: SqliteStore, settings: HealerSettings
) -> None:
    [incident] = replay(DISK, store, settings).incidents
    assert checks(store, incident.id) == []


def test_capacity_scaled_in_early_is_a_miss_and_then_a_cheap_scale_out_needs_a_human(
    store: SqliteStore, settings: HealerSettings
) -> None:
    """The group gives the added instances back at once (a scale-in policy): the 24 h priced
    never ran, the check records a miss, and the formula's next estimate asks a human."""
    case = load_case(REGISTRATION)
    with sandbox_for(case, REGISTRATION, store, settings) as (sandbox, services):
        [(_, raw), *_] = list(sandbox.case_events())
        [incident_id] = deliver(services, [Delivery(raw, "t")])
        incident = run_incident(services, incident_id)
        assert incident.governance is not None and incident.governance.decision == "auto_heal"
        intent = json.loads(str((incident.execution or {})["external_id"]))
        autoscaling = services.aws.autoscaling
        autoscaling.set_desired_capacity(
            AutoScalingGroupName=incident.plan.action.target, DesiredCapacity=intent["from"]
        )
        assert isinstance(services.clock, ReplayClock)
        services.clock.advance(timedelta(hours=24))

        check = check_cost(services, incident)

    assert check is not None and check["final"] and check["missed"], check
    assert check["ratio"] < 0.5

    [second] = replay(REGISTRATION, store, settings).incidents

    assert second.governance is not None and second.governance.decision == "needs_approval"
    assert any(
        "cost may be wrong: the added_capacity_24h estimate missed" in r
        for r in second.governance.reasons
    )
