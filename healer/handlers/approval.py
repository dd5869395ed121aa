"""Lambda: a human's decision on a pending approval (from Slack, or an operator's invoke)
resumes the workflow waiting for it. A repeated or late decision is refused and audited by
the approval rules themselves (single use), so no idempotency layer hides it.

Invoked directly, the function trusts the `user` it is given: only IAM decides who may invoke
it (the Slack function, and the operators a deployment names). Humans decide through Slack,
whose requests are signed.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from healer.domain import Step
from healer.errors import ActionRejected
from healer.handlers.runtime import logger, resume_workflow, runtime, tracer
from healer.workflow.approvals import approve, reject
from healer.workflow.services import Services


class DecisionRequest(BaseModel):
    approval_id: str
    decision: Literal["approve", "reject"]
    user: str


class DecisionResult(BaseModel):
    ok: bool
    message: str
    incident_id: str | None = None
    resumed: bool = False


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = DecisionRequest.model_validate(event)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "event"
        return DecisionResult(ok=False, message=f"{where}: {problem['msg']}").model_dump()
    return decide(runtime.services(), request).model_dump()


def decide(services: Services, request: DecisionRequest) -> DecisionResult:
    """Record the decision (checked and audited by the workflow's approve/reject) and, once
    the approval is settled, resume the workflow; a refused one changes nothing."""
    approval = services.store.get_approval(request.approval_id)
    if approval is None:
        return DecisionResult(ok=False, message=f"no approval {request.approval_id}")
    incident = services.store.get(approval.incident_id)
    if incident is None or incident.approval_id != approval.id:
        return DecisionResult(
            ok=False,
            message=f"approval {approval.id} is no longer the one its incident waits for",
            incident_id=approval.incident_id,
        )
    decide_with = approve if request.decision == "approve" else reject
    try:
        incident = decide_with(services, approval.incident_id, request.user)
    except ActionRejected as exc:
        return DecisionResult(ok=False, message=str(exc), incident_id=approval.incident_id)
    if incident.step is Step.AWAIT_APPROVAL:  # another approver is still needed
        return DecisionResult(
            ok=True,
            message="approval recorded; another approver is needed",
            incident_id=incident.id,
        )
    resumed = resume_workflow(services, incident)
    message = "approved" if request.decision == "approve" else "rejected"
    return DecisionResult(ok=True, message=message, incident_id=incident.id, resumed=resumed)
