"""The state machine of infra/statemachine, executed by moto's Step Functions, its Lambda
tasks the real handlers: an alarm goes ingest → investigate → govern → wait for a decision →
remediate → verify → close, and so do a rejection, a timeout and a failing step. Outcomes are
judged from the store and from the sandbox's own record of mutating calls."""

from __future__ import annotations

from typing import Any

from healer.domain import Outcome, Step
from healer.errors import ToolUnavailable
from tests.handlers.conftest import (
    ControlPlane,
    Deployment,
    decide,
    deploy,
    kinds,
    start,
    waiting_approval,
)


def test_an_approved_scale_out_runs_once_and_the_incident_closes_resolved(
    surge: Deployment,
) -> None:
    incident_id, execution = start(surge)
    approval_id = waiting_approval(surge, incident_id)
    assert surge.mutations() == []  # nothing ran before the decision

    assert decide(approval_id, "approve") | {"message": ""} == {
        "ok": True,
        "message": "",
        "incident_id": incident_id,
        "resumed": True,
    }

    assert surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"})["status"] == "SUCCEEDED"
    incident = surge.store.get(incident_id)
    assert (incident.step, incident.outcome) == (Step.DONE, Outcome.RESOLVED)
    assert surge.mutations() == ["SetDesiredCapacity"]
    trail = kinds(surge, incident_id)
    assert (
        trail.index("approval_requested") < trail.index("approved") < trail.index("action_started")
    )
    assert trail[-3:] == ["verified", "trust_outcome", "closed"]
    assert surge.store.verify().ok


def test_a_rejection_runs_nothing_and_closes_rejected(surge: Deployment) -> None:
    incident_id, execution = start(surge)

    assert decide(waiting_approval(surge, incident_id), "reject")["ok"]

    assert surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"})["status"] == "SUCCEEDED"
    assert surge.store.get(incident_id).outcome == Outcome.REJECTED
    assert surge.mutations() == []
    assert "rejected" in kinds(surge, incident_id)


def test_a_second_decision_changes_nothing(surge: Deployment) -> None:
    incident_id, execution = start(surge)
    approval_id = waiting_approval(surge, incident_id)
    decide(approval_id, "reject")

    late = decide(approval_id, "approve")

    assert not late["ok"] and "not waiting for approval" in late["message"]
    assert surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"})["status"] == "SUCCEEDED"
    assert surge.mutations() == []


def test_an_unanswered_approval_times_out_expired_and_runs_nothing(
    control_plane: ControlPlane,
) -> None:
    for deployment in deploy(control_plane, "dev-traffic-surge-api", approval_ttl_seconds=2):
        incident_id, execution = start(deployment)

        final = deployment.plane.wait_for(execution, {"SUCCEEDED", "FAILED"})

        assert final["status"] == "SUCCEEDED"
        incident = deployment.store.get(incident_id)
        assert (incident.step, incident.outcome) == (Step.DONE, Outcome.EXPIRED)
        assert "expired" in kinds(deployment, incident_id)
        assert deployment.mutations() == []
        assert not decide(incident.approval_id or "", "approve")["ok"]  # too late


def test_a_step_that_keeps_failing_escalates_and_the_incident_still_closes(
    surge: Deployment,
) -> None:
    def broken_model() -> Any:
        raise RuntimeError("model endpoint returned garbage")

    surge.services.model_factory = broken_model
    incident_id, execution = start(surge)

    assert surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"})["status"] == "SUCCEEDED"
    incident = surge.store.get(incident_id)
    assert (incident.step, incident.outcome) == (Step.DONE, Outcome.ESCALATED)
    escalated = [e for e in surge.store.events(incident_id) if e.kind == "escalated"]
    assert "RuntimeError" in escalated[0].data["reason"]
    assert surge.mutations() == []


def test_a_throttled_step_is_retried(surge: Deployment) -> None:
    calls = {"n": 0}
    real = surge.plane.handlers["healer-analyse"]

    def throttled_once(event: dict[str, Any], context: Any) -> Any:
        if event["step"] == "investigate" and calls["n"] == 0:
            calls["n"] += 1
            raise ToolUnavailable("Bedrock: ThrottlingException")
        return real(event, context)

    surge.plane.handlers["healer-analyse"] = throttled_once
    incident_id, _ = start(surge)

    waiting_approval(surge, incident_id)  # investigate ran again and the workflow went on
    investigations = [e for n, e in surge.plane.invocations if e.get("step") == "investigate"]
    assert len(investigations) == 2


def test_duplicate_deliveries_start_one_execution(surge: Deployment) -> None:
    (_, event), *_ = surge.sandbox.case_events()

    results = [surge.deliver(event) for _ in range(3)]

    assert [r["status"] for r in results] == ["opened", "duplicate", "duplicate"]
    assert len({r["execution"] for r in results}) == 1
    sfn = surge.plane.client("stepfunctions")
    assert len(sfn.list_executions(stateMachineArn=surge.state_machine)["executions"]) == 1
