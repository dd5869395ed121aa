"""The store: protocols for incidents, events, approvals, executions and the audit log,
the SQLite adapter of the embedded runtime, the DynamoDB adapter of the AWS deployment, audit key
sources and digest sinks."""

from healer.store.audit_key import (
    AuditKey,
    FileAuditKey,
    SecretsManagerAuditKey,
    StaticAuditKey,
)
from healer.store.canonical import raw_dedup_key
from healer.store.chain import GENESIS_HASH
from healer.store.digest_sinks import DigestSink, LocalDigestDirectory, S3DigestSink
from healer.store.dynamodb import DynamoStore
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

Store = SqliteStore | DynamoStore
"""What the workflow runs on: either adapter, with the same contract (tests/store)."""

__all__ = [
    "APPROVAL_TRANSITIONS",
    "GENESIS_HASH",
    "ApprovalStore",
    "AuditKey",
    "AuditLog",
    "AuditProblem",
    "AuditReport",
    "DigestSink",
    "DynamoStore",
    "EventLedger",
    "EventRecord",
    "EventStatus",
    "ExecutionLedger",
    "ExecutionRecord",
    "ExecutionStatus",
    "FileAuditKey",
    "IncidentStore",
    "LocalDigestDirectory",
    "S3DigestSink",
    "SecretsManagerAuditKey",
    "SqliteStore",
    "StaticAuditKey",
    "Store",
    "raw_dedup_key",
]
