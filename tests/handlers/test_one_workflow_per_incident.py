"""One workflow drives an incident, and a decision binds to the approval it was shown: a
second execution (a restart racing a redelivery), a stale button and a late expiry change
nothing. Judged from the store and the sandbox's record of mutating calls."""

from __future__ import annotations

import time

from healer.domain import Outcome, Step
from healer.handlers.runtime import start_workflow
from healer.handlers.steps import run_step
from tests.handlers.conftest import (
    ControlPlane,
    Deployment,
    decide,
    deploy,
    kinds,
    start,
    waiting_approval,
)


def test_a_second_execution_takes_the_incident_over_and_the_first_stops(
    control_plane: ControlPlane,
) -> None:
    for surge in deploy(control_plane, "dev-traffic-surge-api", approval_ttl_seconds=4):
        incident_id, first = start(surge)
        approval_id = waiting_approval(surge, incident_id)
        token = surge.store.task_token(approval_id)
        incident = surge.store.get(incident_id)
        second = start_workflow(surge.services, incident, f"{incident_id}-again")
        while surge.store.task_token(approval_id) == token:  # the second one waits now
            time.sleep(0.05)

        assert decide(approval_id, "approve")["resumed"]

        for execution in (first, second):
            assert surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"})["status"] == "SUCCEEDED"
        assert surge.store.get(incident_id).outcome == Outcome.RESOLVED
        assert surge.mutations() == ["SetDesiredCapacity"]
        assert "expired" not in kinds(surge, incident_id)  # the first one's timeout did nothing


def test_a_button_of_an_approval_the_incident_no_longer_waits_for_is_refused(
    surge: Deployment,
) -> None:
    incident_id, _ = start(surge)
    shown = waiting_approval(surge, incident_id)
    incident = surge.store.get(incident_id)
    incident.approval_id = "apr-newer-plan"  # govern re-ran: a new plan, a new approval
    surge.store.save(incident)

    refused = decide(shown, "approve")

    assert not refused["ok"] and "no longer the one its incident waits for" in refused["message"]
    assert surge.store.get_approval(shown).status.value == "PENDING"
    assert surge.mutations() == []


def test_a_late_expiry_of_a_closed_incident_changes_nothing(surge: Deployment) -> None:
    incident_id, execution = start(surge)
    decide(waiting_approval(surge, incident_id), "approve")
    surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"})
    trail = kinds(surge, incident_id)

    answer = run_step(surge.services, {"step": "expire", "incident_id": incident_id})

    assert answer["step"] == Step.DONE.value
    assert kinds(surge, incident_id) == trail
    assert surge.mutations() == ["SetDesiredCapacity"]
