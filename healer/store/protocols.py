"""What the workflow needs from a store, as protocols: SQLite today, DynamoDB later.

One adapter class may implement all of them, so method names do not collide: the incident
store has `get`, the approval store `get_approval`, the execution ledger `get_execution`.
"""

from __future__ import annotations

import builtins
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from healer.domain import ActionId, Approval, ApprovalStatus, AuditEvent, Incident, PastAction
from healer.store.models import (
    AuditReport,
    EventRecord,
    EventStatus,
    ExecutionRecord,
    ExecutionStatus,
)

APPROVAL_TRANSITIONS: dict[ApprovalStatus, frozenset[ApprovalStatus]] = {
    ApprovalStatus.PENDING: frozenset(
        {ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED}
    ),
    ApprovalStatus.APPROVED: frozenset({ApprovalStatus.CONSUMED, ApprovalStatus.EXPIRED}),
}
"""The only status changes an approval store accepts; every other one is refused."""


@runtime_checkable
class IncidentStore(Protocol):
    """Incidents, including where their workflow is (`Incident.step`)."""

    def save(self, incident: Incident) -> None:
        """Insert or update the incident and bump its `version`.

        Raises:
            ConcurrentUpdate: another writer saved it since this copy was read.
        """
        ...

    def get(self, incident_id: str) -> Incident | None:
        """The incident, or None."""
        ...

    def find_open_for(
        self, resources: builtins.list[str], since: datetime, world: str | None = None
    ) -> Incident | None:
        """The newest open incident opened at or after `since` sharing a resource."""
        ...

    def latest_open(self, since: datetime, world: str | None = None) -> Incident | None:
        """The newest open incident opened at or after `since`."""
        ...

    def past_actions(
        self, target: str, since: datetime, world: str | None = None
    ) -> builtins.list[PastAction]:
        """Actions begun on `target` at or after `since`, oldest first (from the ledger)."""
        ...

    def list(self, limit: int = 50) -> builtins.list[Incident]:
        """The newest incidents first."""
        ...

    def list_open(self) -> builtins.list[Incident]:
        """Every open incident, newest first, however old."""
        ...


@runtime_checkable
class EventLedger(Protocol):
    """Every incoming alarm event and what was decided about it: nothing is lost."""

    def record(
        self,
        dedup_key: str | None,
        status: EventStatus,
        reason: str,
        incident_id: str | None,
        raw: dict[str, Any],
    ) -> bool:
        """Record one delivery; True if `dedup_key` was new, False for a duplicate.

        A delivery of a key already seen is recorded with status "duplicate". An empty or
        None key (a malformed event) is replaced by a key derived from the body's hash.
        """
        ...

    def seen(self, dedup_key: str) -> bool:
        """Whether any delivery with this key was recorded."""
        ...

    def first_delivery(self, dedup_key: str) -> EventRecord | None:
        """The first delivery recorded with this key (the one that decided its fate), or None."""
        ...

    def list_events(self, limit: int = 100) -> list[EventRecord]:
        """The newest deliveries first."""
        ...

    def note_transition(self, alarm: str, at: datetime, window: timedelta) -> int:
        """Count one state change of `alarm` at `at`; how many it had in the `window` up to
        `at`, this one included (flapping detection: a hint, not a ledger)."""
        ...

    def batch(self) -> AbstractContextManager[None]:
        """Writes inside the block share one transaction where the store has them (SQLite):
        all land or none; on DynamoDB each write stands alone."""
        ...


@runtime_checkable
class ApprovalStore(Protocol):
    """Approvals; single use is enforced by conditional status transitions."""

    def create(self, approval: Approval) -> Approval:
        """Store a new approval and return it as stored; re-creating one with the same id,
        incident and plan returns the stored one; ValueError for any other existing id."""
        ...

    def add_approver(self, approval_id: str, user: str, at: datetime) -> Approval:
        """Record one human's approval of a PENDING approval; APPROVED once
        `approvals_needed` distinct humans (never its requester) approved.

        Raises:
            ActionRejected: not PENDING, unknown, or `user` already approved or requested it.
        """
        ...

    def get_approval(self, approval_id: str) -> Approval | None:
        """The approval, or None."""
        ...

    def for_incident(self, incident_id: str) -> Approval | None:
        """The incident's most recently requested approval, or None."""
        ...

    def transition(
        self,
        approval_id: str,
        from_status: ApprovalStatus,
        to_status: ApprovalStatus,
        by: str | None,
        at: datetime,
    ) -> Approval:
        """Move the approval from `from_status` to `to_status`, atomically.

        Raises:
            ActionRejected: the move is not in `APPROVAL_TRANSITIONS`, the approval does not
                exist, or it is not in `from_status` (the message names its status).
        """
        ...


@runtime_checkable
class ExecutionLedger(Protocol):
    """Recorded intents of side effects, so none is done twice."""

    def begin(
        self,
        incident_id: str,
        plan_hash: str,
        action: ActionId | str,
        target: str,
        params: dict[str, Any],
        at: datetime | None = None,
    ) -> ExecutionRecord:
        """Record the intent before acting; an existing record is returned instead.

        Raises:
            ActionRejected: a record exists for this plan with another action or target.
        """
        ...

    def set_external_id(
        self, incident_id: str, plan_hash: str, external_id: str
    ) -> ExecutionRecord:
        """Remember the provider's id of the side effect (e.g. an SSM command id)."""
        ...

    def complete(
        self,
        incident_id: str,
        plan_hash: str,
        status: ExecutionStatus,
        result: dict[str, Any],
        at: datetime | None = None,
    ) -> ExecutionRecord:
        """Record the outcome; repeating the same outcome is a no-op."""
        ...

    def get_execution(self, incident_id: str, plan_hash: str) -> ExecutionRecord | None:
        """The record, or None."""
        ...


@runtime_checkable
class AuditLog(Protocol):
    """The append-only audit log: one HMAC chain across all incidents, anchored by digests."""

    def append(
        self,
        incident_id: str,
        kind: str,
        actor: str,
        data: dict[str, Any],
        at: datetime | None = None,
    ) -> AuditEvent:
        """Append an event; ValueError if `kind` is not in `AUDIT_KINDS`."""
        ...

    def events(self, incident_id: str) -> list[AuditEvent]:
        """The incident's events in `seq` order."""
        ...

    def incident_ids(self) -> list[str]:
        """Incidents with audit events, in order of their first event."""
        ...

    def events_of_kind(self, kind: str) -> list[AuditEvent]:
        """Every incident's events of `kind`, in `gseq` order; ValueError unless `kind` is in
        `INDEXED_AUDIT_KINDS`."""
        ...

    def verify(self, incident_id: str | None = None) -> AuditReport:
        """Verify the log; with `incident_id`, report that incident's problems and the log's."""
        ...
