"""Shadow mode: the healer decides and records, the world sees nothing; a human's fix scores it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from healer.cases import load_case
from healer.config import HealerSettings
from healer.domain import Step
from healer.replay import replay_case
from healer.store import SqliteStore
from healer.trust import Mode, ShadowScope
from healer.workflow.manual import close_by_human
from healer.workflow.outcomes import trust_records

CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"
DISK = CASES / "dev-disk-full-web.yaml"
SURGE = CASES / "dev-traffic-surge-api.yaml"


def healer_calls(path: Path, store: SqliteStore, settings: HealerSettings) -> tuple[int, str]:
    result = replay_case(load_case(path), path, store, settings)
    [incident] = result.incidents
    return sum(c.origin == "healer" for c in result.world_calls), incident.id


@pytest.mark.parametrize("case", [DISK, SURGE], ids=["autopilot", "approval"])
def test_shadow_executes_nothing_where_autopilot_does(
    case: Path, store: SqliteStore, settings: HealerSettings
) -> None:
    ran, _ = healer_calls(case, store, settings)
    shadow = settings.model_copy(update={"autonomy_default": Mode.SHADOW})
    shadowed, incident_id = healer_calls(case, store, shadow)

    assert ran >= 1 and shadowed == 0
    incident = store.get(incident_id)
    assert incident is not None and incident.step is Step.AWAIT_FIX
    kinds = [e.kind for e in store.events(incident_id)]
    assert "shadow_decided" in kinds
    assert not {"approval_requested", "approved", "action_started"} & set(kinds)
    assert store.for_incident(incident_id) is None  # no approval exists for anything to run on


def test_a_shadow_scope_by_tag_covers_only_its_targets(
    store: SqliteStore, settings: HealerSettings
) -> None:
    staging = settings.model_copy(update={"shadow_scopes": [ShadowScope(tag="Environment=stag*")]})
    prod = settings.model_copy(update={"shadow_scopes": [ShadowScope(tag="Environment=prod")]})

    assert healer_calls(DISK, store, staging)[0] >= 1
    assert healer_calls(DISK, store, prod)[0] == 0


def test_the_humans_fix_scores_the_recommendation_into_the_trust_record(
    store: SqliteStore, settings: HealerSettings
) -> None:
    shadow = settings.model_copy(update={"autonomy_default": Mode.SHADOW})
    now = datetime.now(UTC)
    _, same = healer_calls(DISK, store, shadow)
    _, other = healer_calls(DISK, store, shadow)
    agreed = close_by_human(
        store,
        store.get(same),
        "U1",
        "fixed",
        now,
        fixed_by=("clear_disk_space", "i-0a1b2c3d4e5f60001"),  # type: ignore[arg-type]
    )
    disagreed = close_by_human(
        store,
        store.get(other),
        "U1",
        "fixed",
        now,
        fixed_by=("restart_instance", "i-0a1b2c3d4e5f60001"),  # type: ignore[arg-type]
    )

    assert agreed is not None and disagreed is not None
    assert (agreed.agreed, disagreed.agreed) == (True, False)
    [record] = trust_records(store, "sandbox:any").values()
    assert [r.value for r in record.results] == ["agreed", "disagreed"]
    fix = next(e for e in store.events(same) if e.kind == "human_fix_recorded")
    assert fix.actor == "human:U1" and fix.data["recommended"]["action"] == "clear_disk_space"
    assert store.verify().ok


def test_the_executor_refuses_a_plan_in_shadow_even_with_an_approval(
    store: SqliteStore, settings: HealerSettings
) -> None:
    """Switching to shadow while an approved plan waits: the fresh recheck stops it."""
    from healer.replay import sandbox_for
    from healer.workflow.approvals import approve
    from healer.workflow.runner import run_incident

    case = load_case(SURGE)
    with sandbox_for(case, SURGE, store, settings) as (sandbox, services):
        from healer.intake import Delivery, deliver

        [(_, raw)] = list(sandbox.case_events())[:1]
        [incident_id] = deliver(services, [Delivery(raw, "t")])
        incident = run_incident(services, incident_id)
        assert incident.step is Step.AWAIT_APPROVAL
        services.autonomy = settings.model_copy(
            update={"autonomy_default": Mode.SHADOW}
        ).autonomy_rules()
        approve(services, incident_id, "U024BE7LH")
        incident = run_incident(services, incident_id)
        blocked = [e for e in store.events(incident_id) if e.kind == "action_blocked"]
        assert any("shadow mode" in e.data["reason"] for e in blocked)
        assert not [c for c in sandbox.world_calls if c.origin == "healer"]


def test_a_human_closing_after_the_action_ran_counts_it_against_the_record(
    store: SqliteStore, settings: HealerSettings
) -> None:
    """Closed at verify (the alarm not yet OK): the failures humans step in on are counted."""
    from healer.intake import Delivery, deliver
    from healer.replay import sandbox_for
    from healer.workflow import steps

    case = load_case(DISK)
    with sandbox_for(case, DISK, store, settings) as (sandbox, services):
        [(_, raw)] = list(sandbox.case_events())[:1]
        [incident_id] = deliver(services, [Delivery(raw, "t")])
        incident = store.get(incident_id)
        assert incident is not None
        for step in (steps.investigate, steps.govern, steps.remediate):
            incident = step(services, incident)
            store.save(incident)
        assert incident.step is Step.VERIFY
        close_by_human(store, incident, "U1", "taking over", datetime.now(UTC))

    [record] = trust_records(store, "sandbox:any").values()
    assert [r.value for r in record.results] == ["not_recovered"]


def test_a_plan_on_the_group_of_a_shadowed_instance_is_shadowed_too(
    store: SqliteStore, settings: HealerSettings
) -> None:
    """Only the alarmed instance carries the tag; a plan (a hostile model's) on its group must
    not slip out of shadow."""
    from healer.domain import ActionId, ActionProposal
    from healer.intake import Delivery, deliver
    from healer.replay import sandbox_for
    from healer.workflow import steps

    prod = settings.model_copy(update={"shadow_scopes": [ShadowScope(tag="Environment=prod")]})
    case = load_case(DISK)
    with sandbox_for(case, DISK, store, prod) as (sandbox, services):
        [(_, raw)] = list(sandbox.case_events())[:1]
        [incident_id] = deliver(services, [Delivery(raw, "t")])
        incident = store.get(incident_id)
        assert incident is not None
        incident = steps.investigate(services, incident)
        on_group = ActionProposal(action=ActionId.SCALE_OUT, target="web-asg", params={"count": 1})

        decision, _ = steps._decide(services, incident, on_group)

    assert decision.shadow
