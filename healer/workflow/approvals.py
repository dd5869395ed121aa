"""Human decisions on a waiting incident: approve, reject, or let the approval expire."""

from __future__ import annotations

from healer.domain import ApprovalStatus, Incident, Outcome, Step
from healer.errors import ActionRejected
from healer.workflow.services import Services


def _waiting(services: Services, incident_id: str) -> Incident:
    incident = services.store.get(incident_id)
    if incident is None:
        raise ActionRejected(f"no incident {incident_id}")
    if incident.step != Step.AWAIT_APPROVAL or incident.approval_id is None:
        raise ActionRejected(
            f"incident {incident_id} is not waiting for approval ({incident.step})"
        )
    return incident


def expire_if_due(services: Services, incident: Incident) -> bool:
    """Expire a pending approval past its deadline (expiry = reject). True if it expired."""
    assert incident.approval_id is not None
    approval = services.store.get_approval(incident.approval_id)
    now = services.clock()
    if approval is None or approval.status != ApprovalStatus.PENDING or now < approval.expires_at:
        return False
    services.store.transition(
        approval.id, ApprovalStatus.PENDING, ApprovalStatus.EXPIRED, None, now
    )
    services.store.append(
        incident.id,
        "expired",
        "system:approvals",
        {"approval_id": approval.id, "expired_at": approval.expires_at.isoformat()},
    )
    incident.outcome = Outcome.EXPIRED
    incident.step = Step.CLOSE
    services.store.save(incident)
    return True


def approve(services: Services, incident_id: str, user: str) -> Incident:
    """Record a human approval of the exact pending plan; the incident resumes at remediate."""
    incident = _waiting(services, incident_id)
    if expire_if_due(services, incident):
        raise ActionRejected(f"the approval of {incident_id} has expired; nothing will run")
    if user not in services.approvers:
        raise ActionRejected(f"{user} is not an allowed approver")
    if incident.requested_by and user == incident.requested_by:
        raise ActionRejected(f"{user} requested this action and may not approve it")
    assert incident.approval_id is not None
    approval = services.store.transition(
        incident.approval_id,
        ApprovalStatus.PENDING,
        ApprovalStatus.APPROVED,
        user,
        services.clock(),
    )
    services.store.append(
        incident.id,
        "approved",
        f"human:{user}",
        {"approval_id": approval.id, "plan_hash": approval.plan_hash},
    )
    incident.step = Step.REMEDIATE
    services.store.save(incident)
    return incident


def reject(services: Services, incident_id: str, user: str) -> Incident:
    """Record a human rejection; nothing runs and the incident closes as rejected."""
    incident = _waiting(services, incident_id)
    if user not in services.approvers:
        raise ActionRejected(f"{user} is not an allowed approver")
    assert incident.approval_id is not None
    services.store.transition(
        incident.approval_id,
        ApprovalStatus.PENDING,
        ApprovalStatus.REJECTED,
        user,
        services.clock(),
    )
    services.store.append(
        incident.id, "rejected", f"human:{user}", {"approval_id": incident.approval_id}
    )
    incident.outcome = Outcome.REJECTED
    incident.step = Step.CLOSE
    services.store.save(incident)
    return incident
