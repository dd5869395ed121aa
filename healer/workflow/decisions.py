"""A human's decision on a pending approval, from any front end (Slack, an operator's invoke):
checked and audited by the approval rules, then handed to whatever resumes the workflow (the
local runner embedded, `SendTaskSuccess` on AWS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from healer.domain import Incident, Step
from healer.errors import ActionRejected
from healer.workflow.approvals import approve, reject
from healer.workflow.services import Services

Resume = Callable[[Services, Incident], bool]
"""Moves a decided incident's workflow on; False when no workflow waits for it."""


class DecisionRequest(BaseModel):
    approval_id: str
    decision: Literal["approve", "reject"]
    user: str


class DecisionResult(BaseModel):
    ok: bool
    message: str
    incident_id: str | None = None
    resumed: bool = False


def decide(services: Services, request: DecisionRequest, resume: Resume) -> DecisionResult:
    """Record the decision (checked and audited by the workflow's approve/reject) and, once
    the approval is settled, resume the workflow; a refused one changes nothing."""
    approval = services.store.get_approval(request.approval_id)
    if approval is None:
        return DecisionResult(ok=False, message=f"no approval {request.approval_id}")
    incident = services.store.get(approval.incident_id)
    if incident is None or incident.approval_id != approval.id:
        why = f"approval {approval.id} is no longer the one its incident waits for"
        if incident is not None:
            services.store.append(
                incident.id,
                "approval_refused",
                f"human:{request.user}",
                {"approval_id": approval.id, "reason": why},
            )
        return DecisionResult(ok=False, message=why, incident_id=approval.incident_id)
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
    resumed = resume(services, incident)
    message = "approved" if request.decision == "approve" else "rejected"
    return DecisionResult(ok=True, message=message, incident_id=incident.id, resumed=resumed)
