"""Conversions between SQLite rows of `SqliteStore` and domain / store models."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from healer.domain import ActionId, ActionProposal, Approval, ApprovalStatus
from healer.store.models import EventRecord, ExecutionRecord


def parse_time(text: str | None) -> datetime | None:
    """A stored ISO time back as an aware datetime (None stays None)."""
    return None if text is None else datetime.fromisoformat(text)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def approval_from_row(row: sqlite3.Row) -> Approval:
    """An `Approval` from an `approvals` row."""
    return Approval(
        id=row["id"],
        incident_id=row["incident_id"],
        plan_hash=row["plan_hash"],
        status=ApprovalStatus(row["status"]),
        automatic=bool(row["automatic"]),
        requested_at=_time(row["requested_at"]),
        expires_at=_time(row["expires_at"]),
        decided_by=row["decided_by"],
        decided_at=parse_time(row["decided_at"]),
        plan=None if row["plan"] is None else ActionProposal.model_validate_json(row["plan"]),
        requested_by=row["requested_by"],
        approvals_needed=row["approvals_needed"],
        approved_by=tuple(json.loads(row["approved_by"])),
    )


def event_from_row(row: sqlite3.Row) -> EventRecord:
    """An `EventRecord` from an `events` row."""
    return EventRecord(
        id=row["id"],
        dedup_key=row["dedup_key"],
        status=row["status"],
        reason=row["reason"],
        incident_id=row["incident_id"],
        raw=json.loads(row["raw"]),
        received_at=_time(row["received_at"]),
        first=bool(row["first"]),
    )


def execution_from_row(row: sqlite3.Row) -> ExecutionRecord:
    """An `ExecutionRecord` from an `executions` row."""
    return ExecutionRecord(
        incident_id=row["incident_id"],
        plan_hash=row["plan_hash"],
        status=row["status"],
        action=ActionId(row["action"]),
        target=row["target"],
        params=json.loads(row["params"]),
        external_id=row["external_id"],
        result=None if row["result"] is None else json.loads(row["result"]),
        started_at=_time(row["started_at"]),
        finished_at=parse_time(row["finished_at"]),
        attempts=row["attempts"],
    )
