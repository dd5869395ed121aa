"""The store: protocols for incidents, events, approvals, executions and the audit log,
and the SQLite adapter of the embedded runtime."""

from healer.store.canonical import raw_dedup_key
from healer.store.chain import GENESIS_HASH
from healer.store.models import (
    AuditProblem,
    AuditReport,
    EventRecord,
    EventStatus,
    ExecutionRecord,
    ExecutionStatus,
)
from healer.store.protocols import (
    APPROVAL_TRANSITIONS,
    ApprovalStore,
    AuditLog,
    EventLedger,
    ExecutionLedger,
    IncidentStore,
)
from healer.store.sqlite import SqliteStore

__all__ = [
    "APPROVAL_TRANSITIONS",
    "GENESIS_HASH",
    "ApprovalStore",
    "AuditLog",
    "AuditProblem",
    "AuditReport",
    "EventLedger",
    "EventRecord",
    "EventStatus",
    "ExecutionLedger",
    "ExecutionRecord",
    "ExecutionStatus",
    "IncidentStore",
    "SqliteStore",
    "raw_dedup_key",
]
