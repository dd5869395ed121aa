"""The audit hash chain as pure functions, shared by every AuditLog adapter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from healer.domain import AUDIT_KINDS, AuditEvent
from healer.store.canonical import normalize, require_utc
from healer.store.models import AuditProblem

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first event of every incident."""


def build_event(
    incident_id: str,
    kind: str,
    actor: str,
    data: dict[str, Any],
    at: datetime,
    *,
    prev_seq: int = 0,
    prev_hash: str = GENESIS_HASH,
) -> AuditEvent:
    """Return the event that follows (`prev_seq`, `prev_hash`) in an incident's chain.

    Raises:
        ValueError: `kind` is not one of `AUDIT_KINDS`, `actor` is empty, `at` or a
            datetime in `data` is naive, or `data` is not JSON-serialisable.
    """
    if kind not in AUDIT_KINDS:
        raise ValueError(f"kind: {kind!r} is not an audit kind ({', '.join(AUDIT_KINDS)})")
    if not actor:
        raise ValueError("actor: must not be empty")
    at = require_utc(at, "at")
    try:
        data = normalize(data)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc
    seq = prev_seq + 1
    digest = AuditEvent.compute_hash(incident_id, seq, kind, actor, at, data, prev_hash)
    return AuditEvent(
        incident_id=incident_id,
        seq=seq,
        kind=kind,
        actor=actor,
        at=at,
        data=data,
        prev_hash=prev_hash,
        hash=digest,
    )


def verify_chain(incident_id: str, events: Sequence[AuditEvent]) -> list[AuditProblem]:
    """Recompute one incident's chain; `events` as stored, in `seq` order.

    Reports altered events (hash mismatch), broken links (prev_hash) and missing sequence
    numbers. Truncation of the newest events cannot be seen from the chain alone.
    """
    problems: list[AuditProblem] = []
    expected_seq, prev_hash = 1, GENESIS_HASH
    for event in events:
        problems.extend(
            AuditProblem(
                incident_id=incident_id, seq=n, kind=None, problem=f"sequence gap: {n} missing"
            )
            for n in range(expected_seq, event.seq)
        )
        problems.extend(
            AuditProblem(incident_id=incident_id, seq=event.seq, kind=event.kind, problem=text)
            for text in _event_problems(incident_id, event, expected_seq, prev_hash)
        )
        expected_seq, prev_hash = max(expected_seq, event.seq + 1), event.hash
    return problems


def _event_problems(
    incident_id: str, event: AuditEvent, expected_seq: int, prev_hash: str
) -> list[str]:
    found: list[str] = []
    if event.seq < expected_seq:
        found.append(f"sequence out of order: expected {expected_seq}")
    recomputed = AuditEvent.compute_hash(
        event.incident_id,
        event.seq,
        event.kind,
        event.actor,
        event.at,
        event.data,
        event.prev_hash,
    )
    if recomputed != event.hash or event.incident_id != incident_id:
        found.append("hash mismatch: event was altered")
    # After a gap the previous event is missing, so the link cannot be checked.
    if event.seq == expected_seq and event.prev_hash != prev_hash:
        if event.seq == 1:
            found.append("prev_hash of the first event is not the genesis hash")
        else:
            found.append(f"prev_hash does not match event {event.seq - 1}")
    return found
