"""Human decisions on a waiting incident: approve, reject, or let the approval expire.

The approval record is the truth; the incident's step follows it (`settle`), so a crash between
recording a decision and saving the incident never leaves the incident stuck.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from healer.domain import Approval, ApprovalStatus, Incident, Outcome, Step
from healer.errors import ActionRejected

if TYPE_CHECKING:
    from healer.store import Store
    from healer.workflow.services import Services


def _waiting(services: Services, incident_id: str, user: str) -> tuple[Incident, Approval]:
    """The incident and the approval it waits for; a decision on anything else is refused
    (and audited, when the incident exists)."""
    incident = services.store.get(incident_id)
    if incident is None:
        raise ActionRejected(f"no incident {incident_id}")
    approval = services.store.get_approval(incident.approval_id) if incident.approval_id else None
    if incident.step != Step.AWAIT_APPROVAL or approval is None:
        why = f"incident {incident_id} is not waiting for approval ({incident.step})"
        raise _refuse(services, incident, user, why)
    return incident, approval


def settle(services: Services, incident: Incident) -> bool:
    """Move a waiting incident on when its approval is decided or past its deadline (expiry =
    reject). True if the incident moved (and was saved)."""
    return settle_in(services.store, services.clock(), incident)


def settle_in(store: Store, now: datetime, incident: Incident) -> bool:
    """`settle` with only a store and the time: what reading an incident needs."""
    if incident.step is not Step.AWAIT_APPROVAL or incident.approval_id is None:
        return False  # decided and moved on already: a late expiry or decision changes nothing
    approval = store.get_approval(incident.approval_id)
    if approval is None:
        return False
    if approval.status == ApprovalStatus.PENDING and now >= approval.expires_at:
        try:
            approval = store.transition(
                approval.id, ApprovalStatus.PENDING, ApprovalStatus.EXPIRED, None, now
            )
        except ActionRejected:  # decided in the meantime: settle by what was decided
            return settle_in(store, now, incident)
        store.append(
            incident.id,
            "expired",
            "system:approvals",
            {"approval_id": approval.id, "expired_at": approval.expires_at.isoformat()},
        )
    if approval.status == ApprovalStatus.PENDING:
        return False
    if approval.status in (ApprovalStatus.APPROVED, ApprovalStatus.CONSUMED):
        incident.step = Step.REMEDIATE
    else:
        incident.outcome = (
            Outcome.EXPIRED if approval.status == ApprovalStatus.EXPIRED else Outcome.REJECTED
        )
        incident.step = Step.CLOSE
    store.save(incident)
    return True


def end_wait(services: Services, incident: Incident) -> Incident:
    """The workflow stopped waiting for a decision (Step Functions timed the wait out, at the
    approval's TTL): a still pending approval expires now; a decided one is settled."""
    if incident.step is not Step.AWAIT_APPROVAL or incident.approval_id is None:
        return incident  # moved on already (a timeout racing a decision): nothing to end
    approval = services.store.get_approval(incident.approval_id)
    if approval is not None and approval.status == ApprovalStatus.PENDING:
        try:
            services.store.transition(
                approval.id,
                ApprovalStatus.PENDING,
                ApprovalStatus.EXPIRED,
                None,
                services.clock(),
            )
            services.store.append(
                incident.id,
                "expired",
                "system:approvals",
                {"approval_id": approval.id, "expired_at": approval.expires_at.isoformat()},
            )
        except ActionRejected:
            pass  # decided in the meantime: settled by what was decided
    settle(services, incident)
    return incident


def expire_if_due(services: Services, incident: Incident) -> bool:
    """Expire a pending approval past its deadline. True if the incident closed as expired."""
    return settle(services, incident) and incident.outcome == Outcome.EXPIRED


def _refuse(services: Services, incident: Incident, user: str, why: str) -> ActionRejected:
    services.store.append(
        incident.id,
        "approval_refused",
        f"human:{user}",
        {"approval_id": incident.approval_id, "reason": why},
    )
    return ActionRejected(why)


def approve(services: Services, incident_id: str, user: str) -> Incident:
    """Record one human approval of the exact pending plan. When enough distinct humans have
    approved (two for high risk by default), the incident resumes at remediate."""
    incident, approval = _waiting(services, incident_id, user)
    if settle(services, incident):
        raise _refuse(services, incident, user, _too_late(incident))
    if user not in services.approvers:
        raise _refuse(services, incident, user, f"{user} is not an allowed approver")
    if user in (incident.requested_by, approval.requested_by):
        raise _refuse(
            services, incident, user, f"{user} requested this action and may not approve it"
        )
    try:
        approval = services.store.add_approver(approval.id, user, services.clock())
    except ActionRejected as exc:
        raise _refuse(services, incident, user, str(exc)) from exc
    services.store.append(incident.id, "approved", f"human:{user}", _decided(approval))
    settle(services, incident)
    return incident


def reject(services: Services, incident_id: str, user: str) -> Incident:
    """Record a human rejection; nothing runs and the incident closes as rejected."""
    incident, approval = _waiting(services, incident_id, user)
    if settle(services, incident):
        raise _refuse(services, incident, user, _too_late(incident))
    if user not in services.approvers:
        raise _refuse(services, incident, user, f"{user} is not an allowed approver")
    approval = services.store.transition(
        approval.id, ApprovalStatus.PENDING, ApprovalStatus.REJECTED, user, services.clock()
    )
    services.store.append(incident.id, "rejected", f"human:{user}", _decided(approval))
    settle(services, incident)
    return incident


def _too_late(incident: Incident) -> str:
    if incident.outcome == Outcome.EXPIRED:
        return f"the approval of {incident.id} has expired; nothing will run"
    return f"incident {incident.id} was already decided; this decision changes nothing"


def _decided(approval: Approval) -> dict[str, Any]:
    """What a human decided, in clear."""
    return {
        "approval_id": approval.id,
        "plan_hash": approval.plan_hash,
        "status": approval.status.value,
        "approved_by": list(approval.approved_by),
        "approvals_needed": approval.approvals_needed,
        "plan": approval.plan.model_dump(mode="json") if approval.plan else None,
    }
