"""The audit log as every adapter stores it: records (a SQLite row, a DynamoDB item) to events,
and one verification report over what was read, whatever the store."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from healer.domain import INDEXED_AUDIT_KINDS, AuditEvent
from healer.store.chain import head_problems, verify_log
from healer.store.digest_sinks import DigestSink
from healer.store.digests import digest_problems
from healer.store.models import AuditProblem, AuditReport, LogHead

_UNREADABLE_AT = datetime(1970, 1, 1, tzinfo=UTC)


def indexed_kind(kind: str) -> None:
    """Refuse to list a kind the store does not index across incidents."""
    if kind not in INDEXED_AUDIT_KINDS:
        raise ValueError(f"audit kind {kind!r} is not indexed ({', '.join(INDEXED_AUDIT_KINDS)})")


def event_from_record(record: Mapping[str, Any]) -> AuditEvent:
    """An `AuditEvent` from a stored record (time as ISO text, data as JSON text); ValueError
    if it cannot be read."""
    return AuditEvent(
        gseq=int(record["gseq"]),
        incident_id=record["incident_id"],
        seq=int(record["seq"]),
        kind=record["kind"],
        actor=record["actor"],
        at=datetime.fromisoformat(record["at"]),
        data=json.loads(record["data"]),
        prev_hash=record["prev_hash"],
        hash=record["hash"],
    )


def event_for_verify(record: Mapping[str, Any]) -> AuditEvent:
    """Like `event_from_record`, but an unreadable record becomes an event whose hash cannot
    match.

    A record whose time or data no longer parses was altered; substituting placeholders lets
    the chain check report it as a hash mismatch instead of stopping the verification.
    """
    try:
        return event_from_record(record)
    except (ValueError, TypeError, KeyError, ValidationError):
        record = dict(record)  # a SQLite row has no .get
        data: Any
        try:
            data = json.loads(record["data"])
        except (ValueError, TypeError, KeyError):
            data = None
        try:
            at = datetime.fromisoformat(record["at"])
        except (TypeError, ValueError, KeyError):
            at = _UNREADABLE_AT
        return AuditEvent(
            gseq=_number(record.get("gseq")),
            incident_id=str(record.get("incident_id")),
            seq=_number(record.get("seq")),
            kind=str(record.get("kind")),
            actor=str(record.get("actor")),
            at=at,
            data=data if isinstance(data, dict) else {"unreadable": str(record.get("data"))},
            prev_hash=str(record.get("prev_hash")),
            hash=str(record.get("hash")),
        )


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def head_from_record(record: Mapping[str, Any] | None) -> LogHead | None:
    """The signed head from its stored record, or None if there is none; ValidationError or
    KeyError if it was edited into something unreadable."""
    if record is None:
        return None
    return LogHead.model_validate({key: record[key] for key in LogHead.model_fields})


def audit_report(
    key: bytes,
    events: builtins.list[AuditEvent],
    head_record: Mapping[str, Any] | None,
    digests: DigestSink | None,
    store_problems: builtins.list[AuditProblem],
    incident_id: str | None = None,
) -> AuditReport:
    """Verify a log read from a store: its chain, its signed head, its digests, plus what the
    store itself found wrong; with `incident_id`, that incident's problems and the log's."""
    problems = [*store_problems, *verify_log(key, events)]
    try:
        head = head_from_record(head_record)
        problems += head_problems(key, head, events)
    except (ValidationError, KeyError):
        head = None
        problems.append(AuditProblem(problem="signed head unreadable: it was edited"))
    files: builtins.list[tuple[str, bytes]] = []
    if digests is not None:
        files = [
            (name, body) for name in digests.names() if (body := digests.read(name)) is not None
        ]
        problems += digest_problems(key, files, events, head, digests.location)
    if incident_id is not None:
        events = [e for e in events if e.incident_id == incident_id]
        problems = [p for p in problems if p.incident_id in (None, incident_id)]
    return AuditReport(
        ok=not problems,
        incidents_checked=1 if incident_id else len({e.incident_id for e in events}),
        events_checked=len(events),
        digests_checked=len(files),
        problems=problems,
    )
