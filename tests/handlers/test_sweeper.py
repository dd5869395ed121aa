"""The sweeper, the scheduled backstop, on the deployed workflow: it expires an approval past
its deadline and resumes the workflow waiting on it, restarts the workflow of an incident that
has none running, uploads the audit digests a sink outage left pending, and publishes how many
approvals are waiting. The clock is the sandbox services' `ReplayClock`, moved on by hand."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from healer.domain import ApprovalStatus, Outcome, Step
from healer.errors import ToolUnavailable
from healer.handlers import sweeper
from healer.handlers.sweeper import STUCK_AFTER, sweep
from healer.store.digest_sinks import LocalDigestDirectory
from healer.workflow.ingest import ingest
from tests.handlers.conftest import (
    APPROVER,
    ControlPlane,
    Deployment,
    LambdaContext,
    deploy,
    kinds,
    start,
    waiting_approval,
)


class FlakyDigestDirectory(LocalDigestDirectory):
    """A digest directory whose writes fail while `down` (S3 unreachable)."""

    down = True

    def write(self, name: str, body: bytes) -> None:
        if self.down:
            raise ToolUnavailable("s3: unreachable")
        super().write(name, body)


def executions(deployment: Deployment) -> list[dict[str, Any]]:
    sfn = deployment.plane.client("stepfunctions")
    page = sfn.list_executions(stateMachineArn=deployment.state_machine)
    return list(page["executions"])


def published(stdout: str) -> dict[str, float]:
    """The metrics of the Powertools EMF lines in `stdout` (namespace IncidentHealer)."""
    metrics: dict[str, float] = {}
    for line in stdout.splitlines():
        record = json.loads(line) if line.startswith("{") else {}
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Namespace"] == "IncidentHealer"
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                metrics[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return metrics


def ingested_only(deployment: Deployment) -> str:
    """Open the case's incident as ingest does, without starting its workflow (the crash
    between recording the event and starting the execution); the incident's id."""
    (_, event), *_ = deployment.sandbox.case_events()
    result = ingest(deployment.services, event)
    assert result.status == "opened" and result.incident_id is not None
    return result.incident_id


def test_a_waiting_approval_is_counted_then_expired_past_its_deadline_and_closed(
    surge: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    incident_id, execution = start(surge)
    approval_id = waiting_approval(surge, incident_id)
    capsys.readouterr()

    sweeper.handler({}, LambdaContext("healer-sweeper"))  # not due yet: counted as waiting

    assert published(capsys.readouterr().out) == {"ApprovalsWaiting": 1}

    surge.clock.advance(surge.services.policy.approval_ttl + timedelta(seconds=1))
    report = sweep(surge.services)

    assert (report.approvals_expired, report.approvals_waiting) == (1, 0)
    final = surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"}, timeout=10)
    assert final["status"] == "SUCCEEDED"
    incident = surge.store.get(incident_id)
    assert incident is not None
    assert (incident.step, incident.outcome) == (Step.DONE, Outcome.EXPIRED)
    approval = surge.store.get_approval(approval_id)
    assert approval is not None and approval.status == ApprovalStatus.EXPIRED
    assert "expired" in kinds(surge, incident_id)
    assert surge.mutations() == []


def test_an_approval_recorded_but_never_settled_resumes_its_workflow(surge: Deployment) -> None:
    incident_id, execution = start(surge)
    approval_id = waiting_approval(surge, incident_id)
    # the approval handler crashed between recording the approval and moving the incident on
    surge.store.add_approver(approval_id, APPROVER, surge.services.clock())

    report = sweep(surge.services)

    assert (report.approvals_waiting, report.approvals_expired) == (0, 0)
    final = surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"}, timeout=10)
    assert final["status"] == "SUCCEEDED"
    incident = surge.store.get(incident_id)
    assert incident is not None and incident.outcome == Outcome.RESOLVED
    assert surge.mutations() == ["SetDesiredCapacity"]


def test_a_scale_out_is_costed_once_its_estimates_horizon_has_passed(surge: Deployment) -> None:
    incident_id, execution = start(surge)
    approval_id = waiting_approval(surge, incident_id)
    surge.store.add_approver(approval_id, APPROVER, surge.services.clock())
    sweep(surge.services)
    assert surge.plane.wait_for(execution, {"SUCCEEDED", "FAILED"}, timeout=10)["status"]
    assert sweep(surge.services).costs_checked == []  # the 24 h the estimate covers are not over

    surge.clock.advance(timedelta(hours=24, minutes=1))
    report = sweep(surge.services)

    assert report.costs_checked == [incident_id]
    [check] = [e.data for e in surge.store.events(incident_id) if e.kind == "cost_checked"]
    assert check["final"] and check["instances"] == 10 and check["estimate_usd"] == 46.08
    assert abs(check["actual_usd"] - 46.08) < 0.1
    assert sweep(surge.services).costs_checked == []  # once


def test_an_incident_whose_workflow_never_started_is_restarted_after_15_minutes(
    surge: Deployment,
) -> None:
    incident_id = ingested_only(surge)
    assert sweep(surge.services).workflows_restarted == []  # it may still be starting

    surge.clock.advance(STUCK_AFTER + timedelta(seconds=1))
    report = sweep(surge.services)

    assert report.workflows_restarted == [incident_id]
    waiting_approval(surge, incident_id)  # the restarted workflow investigated and governed
    (restarted,) = executions(surge)
    assert restarted["name"].startswith(f"{incident_id}-")
    assert sweep(surge.services).workflows_restarted == []  # once


def test_an_incident_whose_workflow_is_running_is_not_restarted(surge: Deployment) -> None:
    investigating, release = threading.Event(), threading.Event()
    real = surge.plane.handlers["healer-analyse"]

    def slow_investigation(event: dict[str, Any], context: Any) -> Any:
        if event["step"] != "investigate":
            return real(event, context)
        investigating.set()
        release.wait(timeout=30)
        return {"incident_id": event["incident_id"], "step": "done"}  # the test is over

    surge.plane.handlers["healer-analyse"] = slow_investigation
    try:
        incident_id, _ = start(surge)
        assert investigating.wait(timeout=10)
        surge.clock.advance(STUCK_AFTER + timedelta(minutes=5))

        report = sweep(surge.services)

        assert report.workflows_restarted == []
        incident = surge.store.get(incident_id)
        assert incident is not None and incident.step is Step.INVESTIGATE
        assert len(executions(surge)) == 1
    finally:
        release.set()


@pytest.fixture
def digest_outage(
    control_plane: ControlPlane, tmp_path: Path
) -> Iterator[tuple[Deployment, FlakyDigestDirectory]]:
    """The traffic surge case, its audit digests going to a sink that is down."""
    sink = FlakyDigestDirectory(tmp_path / "digests")
    for deployment in deploy(control_plane, "dev-traffic-surge-api", digests=sink):
        yield deployment, sink


def test_digests_a_sink_outage_left_pending_are_uploaded(
    digest_outage: tuple[Deployment, FlakyDigestDirectory],
) -> None:
    deployment, sink = digest_outage
    ingested_only(deployment)  # its first audit event is due a digest
    assert sink.names() == []
    sink.down = False

    report = sweep(deployment.services)

    assert report.digests_uploaded == 1
    assert len(sink.names()) == 1
    assert deployment.store.verify().ok
    assert sweep(deployment.services).digests_uploaded == 0
