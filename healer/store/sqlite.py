"""`SqliteStore`: every store protocol over one SQLite database, the embedded default."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from healer.domain import ActionId, ApprovalStatus, Incident
from healer.store.models import ExecutionRecord
from healer.store.sqlite_approvals import SqliteApprovalStore
from healer.store.sqlite_audit import SqliteAuditLog
from healer.store.sqlite_base import utc_now
from healer.store.sqlite_events import SqliteEventLedger
from healer.store.sqlite_executions import SqliteExecutionLedger
from healer.store.sqlite_incidents import SqliteIncidentStore
from healer.store.sqlite_locks import SqliteLocks

if TYPE_CHECKING:
    from healer.store.protocols import (
        ApprovalStore,
        AuditLog,
        EventLedger,
        ExecutionLedger,
        IncidentStore,
    )

__all__ = ["SqliteStore", "utc_now"]


class SqliteStore(
    SqliteIncidentStore,
    SqliteEventLedger,
    SqliteApprovalStore,
    SqliteExecutionLedger,
    SqliteAuditLog,
    SqliteLocks,
):
    """Incidents, event ledger, approvals, execution ledger and audit log in one database.

    Args:
        path: Database file (WAL mode), or ":memory:" for a throwaway store.
        clock: Returns the current aware time; injected by tests.
        timeout: Seconds to wait for another writer before giving up.
        audit_key: The audit log's HMAC key; None for a random key of this process only.
        digests: Where the audit log's signed digests go; None for none.
        digest_every: Write a digest every this many events (and at every close).

    Raises:
        ToolUnavailable: the database cannot be opened, or is locked or failing.
        ConfigError: the database was written with another schema version.
    """

    def accept_event(
        self,
        dedup_key: str,
        reason: str,
        raw: dict[str, Any],
        incident: Incident,
        audit_kind: str,
        audit_data: dict[str, Any],
    ) -> bool:
        """Record the first delivery of an event, save the incident it opened or joined and
        audit it, in one transaction. False (and the delivery recorded as a duplicate, the
        incident untouched) when the key was already received.

        Raises:
            ConcurrentUpdate: the incident was saved by another writer since it was read.
        """
        with self._write():
            if self.seen(dedup_key):
                self.record(dedup_key, "duplicate", "already received", None, raw)
                return False
            self.record(dedup_key, "accepted", reason, incident.id, raw)
            self.save(incident)
            self.append(incident.id, audit_kind, "system:ingest", audit_data)
        return True

    def consume_and_begin(
        self,
        approval_id: str,
        incident_id: str,
        plan_hash: str,
        action: ActionId | str,
        target: str,
        params: dict[str, Any],
        at: datetime,
        actor: str,
    ) -> ExecutionRecord:
        """Consume an APPROVED approval, record the execution's intent and audit both, in one
        transaction: all of it happens or none (ActionRejected when the approval is not
        APPROVED)."""
        with self._write():
            approval = self.transition(
                approval_id, ApprovalStatus.APPROVED, ApprovalStatus.CONSUMED, None, at
            )
            record = self.begin(incident_id, plan_hash, action, target, params, at)
            plan = {"action": str(action), "target": target, "params": params}
            self.append(
                incident_id,
                "approval_consumed",
                actor,
                {"approval_id": approval_id, "decided_by": approval.decided_by, **plan},
                at,
            )
            self.append(incident_id, "action_started", actor, {**plan, "plan_hash": plan_hash}, at)
        return record


if TYPE_CHECKING:
    # mypy proves here that the adapter satisfies every protocol.
    def _conforms(
        store: SqliteStore,
    ) -> tuple[IncidentStore, EventLedger, ApprovalStore, ExecutionLedger, AuditLog]:
        return store, store, store, store, store
