"""Lambda: one step of an incident's workflow, as the state machine's tasks call it.

The event names the step and the incident; the answer names the step to run next. Every step
is safe to run again (a Lambda retry): a step the incident is already past is not re-run.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from healer.domain import Incident, Step
from healer.errors import ActionRejected
from healer.handlers.runtime import deployment_store, logger, resume_workflow, runtime, tracer
from healer.workflow import steps
from healer.workflow.approvals import end_wait, settle
from healer.workflow.runner import STEPS
from healer.workflow.services import Services

VERIFY_WAIT = "verify_wait"
"""The answer of a verify that saw the alarms not yet OK: the state machine waits, looks again."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    services = runtime.services()
    answer = run_step(services, event)
    incident = services.store.get(event["incident_id"])
    if incident is not None:
        services.announce(services, incident)  # the incident's Slack thread
    return answer


def run_step(services: Services, event: dict[str, Any]) -> dict[str, str]:
    """Run the step `event["step"]` of incident `event["incident_id"]`; the next step."""
    step, incident = event["step"], _incident(services, event["incident_id"])
    logger.append_keys(incident_id=incident.id, step=step)
    owner, caller = incident.runtime.get("execution"), event.get("execution")
    if owner and caller and owner != caller:
        logger.warning("another execution owns this incident: stopping", extra={"owner": owner})
        return _next(incident, Step.DONE.value)
    if step == "await_approval":
        return _await(services, incident, event["task_token"])
    if step == "expire":
        incident = end_wait(services, incident)
    elif step == "fail":
        if incident.step is Step.AWAIT_APPROVAL:
            end_wait(services, incident)  # nothing may run on a pending approval any more
        incident = steps.fail(services, incident, event.get("error") or {})
        services.store.save(incident)
    elif incident.step is Step(step) and step == Step.VERIFY:
        incident = steps.verify_once(services, incident)
        services.store.save(incident)
        if incident.step is Step.VERIFY:
            return _next(incident, VERIFY_WAIT)
    elif incident.step is Step(step):
        incident = STEPS[incident.step](services, incident)
        services.store.save(incident)
    return _next(incident)


def _await(services: Services, incident: Incident, task_token: str) -> dict[str, str]:
    """Keep the token the workflow waits with; a decision taken before the wait began (or
    while the token was being stored) resumes it at once."""
    if incident.approval_id is not None:
        deployment_store(services).set_task_token(incident.approval_id, task_token)
    if incident.step is not Step.AWAIT_APPROVAL or settle(services, incident):
        resume_workflow(services, incident)
    return {"incident_id": incident.id, "waiting_for": str(incident.approval_id)}


def _incident(services: Services, incident_id: str) -> Incident:
    incident = services.store.get(incident_id)
    if incident is None:
        raise ActionRejected(f"no incident {incident_id}")
    return incident


def _next(incident: Incident, step: str | None = None) -> dict[str, str]:
    return {"incident_id": incident.id, "step": step or incident.step.value}
