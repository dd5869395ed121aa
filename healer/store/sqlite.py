"""`SqliteStore`: every store protocol over one SQLite database, the embedded default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from healer.store.sqlite_approvals import SqliteApprovalStore
from healer.store.sqlite_audit import SqliteAuditLog
from healer.store.sqlite_base import utc_now
from healer.store.sqlite_events import SqliteEventLedger
from healer.store.sqlite_executions import SqliteExecutionLedger
from healer.store.sqlite_incidents import SqliteIncidentStore

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


if TYPE_CHECKING:
    # mypy proves here that the adapter satisfies every protocol.
    def _conforms(
        store: SqliteStore,
    ) -> tuple[IncidentStore, EventLedger, ApprovalStore, ExecutionLedger, AuditLog]:
        return store, store, store, store, store
