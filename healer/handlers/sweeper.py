"""Lambda, on a schedule: the backstop that leaves nothing stuck.

Expires approvals past their deadline and moves on those decided by a handler that crashed
before it settled them (and resumes their workflow), uploads audit digests a sink outage left
pending, restarts the workflow of an open incident that has none running (a crash between
ingest and the start, an execution that failed), and publishes how many approvals are waiting
(the healer's own alarm watches it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from healer.domain import Incident, Outcome, Step
from healer.errors import ConcurrentUpdate, ToolUnavailable
from healer.handlers.runtime import (
    deployment_store,
    logger,
    metrics,
    resume_workflow,
    runtime,
    start_workflow,
    tracer,
)
from healer.workflow.approvals import settle
from healer.workflow.costs import check_cost, due
from healer.workflow.outcomes import SANDBOX_REALM, realm
from healer.workflow.services import Services

STUCK_AFTER = timedelta(minutes=15)
"""An open incident with no running workflow for this long is restarted at its step."""


COST_LOOKBACK = 100
"""The newest incidents the sweeper looks at for a cost check that is due."""


class SweepReport(BaseModel):
    costs_checked: list[str] = []
    digests_uploaded: int = 0
    approvals_waiting: int = 0
    approvals_expired: int = 0
    workflows_restarted: list[str] = []


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = sweep(runtime.services())
    metrics.add_metric(
        name="ApprovalsWaiting", unit=MetricUnit.Count, value=report.approvals_waiting
    )
    logger.info("swept", extra=report.model_dump())
    return report.model_dump()


def sweep(services: Services) -> SweepReport:
    report = SweepReport(digests_uploaded=deployment_store(services).upload_pending_digests())
    running = _running_executions()
    now = services.clock()
    for incident in services.store.list_open():
        if incident.step is Step.AWAIT_APPROVAL:
            if settle(services, incident):  # expired, or decided but never moved on
                if incident.outcome == Outcome.EXPIRED:
                    report.approvals_expired += 1
                resume_workflow(services, incident)
            else:
                report.approvals_waiting += 1
            continue
        if incident.step is Step.AWAIT_FIX:
            continue  # shadow: nothing runs until a human closes it with their fix
        has_workflow = any(name.startswith(f"{incident.id}-") for name in running)
        if not has_workflow and now - incident.opened_at >= STUCK_AFTER:
            try:
                start_workflow(services, incident, f"{incident.id}-resume-{now:%Y%m%dT%H%M%S}")
            except ConcurrentUpdate:
                continue  # it moved on meanwhile: the next sweep looks again
            report.workflows_restarted.append(incident.id)
    report.costs_checked = check_due_costs(services)
    return report


def check_due_costs(services: Services) -> list[str]:
    """Cost-check each recent incident of this account whose added capacity has run for its
    estimate's horizon and has no final check yet (a check before the horizon would only be
    provisional). One that cannot be read now is logged and tried at the next sweep."""
    checked = []
    for incident in services.store.list(limit=COST_LOOKBACK):
        if not _of_this_account(services, incident) or not due(services, incident):
            continue
        try:
            check_cost(services, incident)
        except ToolUnavailable as exc:
            logger.warning(
                "cost check failed", extra={"incident_id": incident.id, "error": str(exc)}
            )
            continue
        checked.append(incident.id)
    return checked


def _of_this_account(services: Services, incident: Incident) -> bool:
    """Whether the incident's resources are in the account the sweeper reads: a sandbox
    replay written to the deployment's store names groups of another world."""
    if services.world is not None:
        return incident.world == services.world
    return realm(incident.world) != SANDBOX_REALM


def _running_executions() -> list[str]:
    """The names of the workflow executions running now (each begins with its incident id)."""
    pages = (
        runtime.stepfunctions()
        .get_paginator("list_executions")
        .paginate(stateMachineArn=runtime.settings().state_machine_arn, statusFilter="RUNNING")
    )
    return [execution["name"] for page in pages for execution in page["executions"]]
