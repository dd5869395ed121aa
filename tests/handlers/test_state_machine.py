"""The state machine of infra/statemachine, executed by moto's Step Functions, its Lambda
tasks the real handlers: an alarm goes ingest → investigate → govern → wait for a decision →
remediate → verify → close, and so do a rejection, a timeout and a failing step. Outcomes are
judged from the store and from the sandbox's own record of mutating calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from healer.cases import load_case
from healer.config import HealerSettings
from healer.domain import Outcome, Step
from healer.errors import ToolUnavailable
from healer.handlers import approval, ingest, steps
from healer.handlers.runtime import execution_name, runtime
from healer.replay import sandbox_for
from healer.sandbox import Sandbox
from healer.store import DynamoStore, StaticAuditKey
from healer.store.dynamodb import table_definition
from healer.workflow.services import Services
from tests.handlers.conftest import ACCOUNT, REGION, ControlPlane, LambdaContext, render_asl

CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"
APPROVER = "U024BE7LH"
MUTATIONS = {"SetDesiredCapacity", "UpdateAutoScalingGroup", "SendCommand"}


@dataclass
class Deployment:
    plane: ControlPlane
    sandbox: Sandbox
    services: Services
    store: DynamoStore
    state_machine: str

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = ingest.handler(event, LambdaContext("healer-ingest"))
        return result

    def execution_arn(self, incident_id: str, dedup_key: str) -> str:
        name = execution_name(incident_id, dedup_key)
        return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:healer:{name}"

    def mutations(self) -> list[str]:
        return [c.operation for c in self.sandbox.world_calls if c.operation in MUTATIONS]


def deploy(
    plane: ControlPlane, case_id: str, approval_ttl_seconds: int = 60
) -> Iterator[Deployment]:
    store = DynamoStore(plane.resource("dynamodb"), "healer", audit_key=StaticAuditKey(b"k" * 32))
    settings = HealerSettings(approvers=[APPROVER])
    path = CASES / f"{case_id}.yaml"
    with sandbox_for(load_case(path), path, store, settings) as (sandbox, services):
        role = plane.set_up()  # after the sandbox reset moto
        plane.client("dynamodb").create_table(**table_definition("healer"))
        sfn = plane.client("stepfunctions")
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
        machine = sfn.create_state_machine(
            name="healer",
            definition=render_asl(
                analyse_function_arn=f"{arn}healer-analyse",
                remediate_function_arn=f"{arn}healer-remediate",
                approval_ttl_seconds=approval_ttl_seconds,
                verify_poll_seconds=1,
            ),
            roleArn=role,
        )["stateMachineArn"]
        settings = settings.model_copy(update={"state_machine_arn": machine})
        runtime.install(settings=settings, services=services, stepfunctions=sfn)
        plane.handlers.update(
            {
                "healer-ingest": ingest.handler,
                "healer-analyse": steps.handler,
                "healer-remediate": steps.handler,
            }
        )
        try:
            yield Deployment(plane, sandbox, services, store, machine)
        finally:  # moto's executions outlive a test: stop them before the next one
            for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
                if execution["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=execution["executionArn"])
            runtime.install()


@pytest.fixture
def surge(control_plane: ControlPlane) -> Iterator[Deployment]:
    """A traffic surge whose scale-out costs $46.08: it needs a human's approval."""
    yield from deploy(control_plane, "dev-traffic-surge-api")


def start(deployment: Deployment) -> tuple[str, str]:
    """Deliver the case's alarm; the incident id and its execution's ARN."""
    (_, event), *_ = deployment.sandbox.case_events()
    result = deployment.deliver(event)
    assert result["status"] == "opened"
    incident_id = result["incident_id"]
    assert result["execution"] == deployment.execution_arn(incident_id, result["dedup_key"])
    return incident_id, result["execution"]


def waiting_approval(deployment: Deployment, incident_id: str) -> str:
    """The id of the incident's approval once the workflow waits on it (its token stored)."""
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        incident = deployment.store.get(incident_id)
        if incident and incident.approval_id and deployment.store.task_token(incident.approval_id):
            return incident.approval_id
        time.sleep(0.1)
    raise AssertionError("the workflow never waited for an approval")


def decide(approval_id: str, decision: str, user: str = APPROVER) -> dict[str, Any]:
    event = {"approval_id": approval_id, "decision": decision, "user": user}
    result: dict[str, Any] = approval.handler(event, LambdaContext("healer-approval"))
    return result


def kinds(deployment: Deployment, incident_id: str) -> list[str]:
    return [e.kind for e in deployment.store.events(incident_id)]


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
    assert trail[-2:] == ["verified", "closed"]
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
