"""The store: protocols for incidents, events, approvals, executions and the audit log,
the SQLite adapter of the embedded runtime, the DynamoDB adapter of the AWS deployment, audit key
sources and digest sinks.

The DynamoDB adapter and the S3 sink import boto3: they load when first named, so commands on
the SQLite store start without it.
"""

from typing import TYPE_CHECKING, Any

from healer.store.audit_key import (
    AuditKey,
    FileAuditKey,
    SecretsManagerAuditKey,
    StaticAuditKey,
)
from healer.store.canonical import raw_dedup_key
from healer.store.chain import GENESIS_HASH
from healer.store.digest_sinks import DigestSink, LocalDigestDirectory, S3DigestSink
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

if TYPE_CHECKING:
    from healer.store.dynamodb import DynamoStore

    Store = SqliteStore | DynamoStore
    """What the workflow runs on: either adapter, with the same contract (tests/store)."""


def __getattr__(name: str) -> Any:
    if name == "DynamoStore":
        from healer.store.dynamodb import DynamoStore

        return DynamoStore
    if name == "Store":
        return SqliteStore | __getattr__("DynamoStore")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
