"""The audit log's HMAC chain and its signed head, as pure functions shared by every adapter.

One chain runs through the events of every incident in log order (`gseq`); each event also
carries its incident's own number (`seq`). Hashes are HMAC-SHA256 with a key kept outside
the store, so a log edited and re-hashed without the key does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from healer.domain import AUDIT_KINDS, AuditEvent
from healer.store.canonical import canonical_json, normalize, require_utc
from healer.store.models import AuditProblem, LogHead

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the log's first event."""

ALTERED = "hash mismatch: event was altered"


def mac(key: bytes, value: Any) -> str:
    """HMAC-SHA256 (hex) of `value`'s canonical JSON."""
    return hmac.new(key, canonical_json(value).encode(), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public fingerprint of the key, to tell keys apart without revealing them."""
    return mac(key, "healer audit key id")[:16]


def event_hash(
    key: bytes,
    gseq: int,
    incident_id: str,
    seq: int,
    kind: str,
    actor: str,
    at: datetime,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    """The keyed hash of one event's fields and its predecessor's hash."""
    return mac(key, [gseq, incident_id, seq, kind, actor, at.isoformat(), data, prev_hash])


def authentic(key: bytes, event: AuditEvent) -> bool:
    """Whether an event's keyed hash matches its fields (it was written with the key)."""
    recomputed = event_hash(
        key,
        event.gseq,
        event.incident_id,
        event.seq,
        event.kind,
        event.actor,
        event.at,
        event.data,
        event.prev_hash,
    )
    return hmac.compare_digest(recomputed, event.hash)


def build_event(
    key: bytes,
    incident_id: str,
    kind: str,
    actor: str,
    data: dict[str, Any],
    at: datetime,
    *,
    prev_gseq: int = 0,
    prev_seq: int = 0,
    prev_hash: str = GENESIS_HASH,
) -> AuditEvent:
    """Return the event after (`prev_gseq`, `prev_hash`) in the log, `prev_seq` in its incident.

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
    gseq, seq = prev_gseq + 1, prev_seq + 1
    return AuditEvent(
        gseq=gseq,
        incident_id=incident_id,
        seq=seq,
        kind=kind,
        actor=actor,
        at=at,
        data=data,
        prev_hash=prev_hash,
        hash=event_hash(key, gseq, incident_id, seq, kind, actor, at, data, prev_hash),
    )


def verify_log(key: bytes, events: Sequence[AuditEvent]) -> list[AuditProblem]:
    """Recompute the chain of the whole log; `events` as stored, in `gseq` order.

    Reports altered events, broken links, reordering, events missing from the log and
    from an incident's sequence. Truncation of the tail needs the head and the digests.
    """
    problems: list[AuditProblem] = []
    position = {event.hash: event.gseq for event in events}
    expected, prev_hash, prev_altered = 1, GENESIS_HASH, False
    for event in events:
        if event.gseq > expected:
            problems.append(_gap(expected, event.gseq - 1))
        found = _event_problems(key, event, expected, prev_hash, position)
        altered = ALTERED in found
        if altered and prev_altered and len(found) == 1:
            # Linked to an altered predecessor: re-hashed to hide the change.
            found = ["hash mismatch: re-chained without the audit key"]
        problems.extend(_at(event, text) for text in found)
        expected, prev_hash, prev_altered = max(expected, event.gseq + 1), event.hash, altered
    return problems + _sequence_problems(events)


def _gap(first: int, last: int) -> AuditProblem:
    count = last - first + 1
    text = "1 event missing" if count == 1 else f"{count} events missing up to #{last}"
    return AuditProblem(gseq=first, problem=f"{text} (deleted)")


def _at(event: AuditEvent, problem: str) -> AuditProblem:
    return AuditProblem(
        incident_id=event.incident_id,
        seq=event.seq,
        kind=event.kind,
        gseq=event.gseq,
        problem=problem,
    )


def _event_problems(
    key: bytes, event: AuditEvent, expected: int, prev_hash: str, position: dict[str, int]
) -> list[str]:
    found: list[str] = []
    if not authentic(key, event):
        found.append(ALTERED)
    # After a gap the previous event is missing, so the link cannot be checked.
    if event.gseq == expected and event.prev_hash != prev_hash:
        after = position.get(event.prev_hash)
        if after is not None:
            found.append(f"out of order: chained after log #{after}")
        elif event.gseq == 1:
            found.append("prev_hash of the first event is not the genesis hash")
        else:
            found.append(f"prev_hash does not match log #{event.gseq - 1}")
    return found


def _sequence_problems(events: Sequence[AuditEvent]) -> list[AuditProblem]:
    problems: list[AuditProblem] = []
    present: dict[str, set[int]] = {}
    newest: dict[str, int] = {}
    for event in events:
        seqs = present.setdefault(event.incident_id, set())
        if event.seq in seqs:
            problems.append(_at(event, "sequence repeated: another event has this number"))
        elif event.seq < newest.get(event.incident_id, 0):
            problems.append(
                _at(event, f"sequence out of order: after #{newest[event.incident_id]}")
            )
        seqs.add(event.seq)
        newest[event.incident_id] = max(newest.get(event.incident_id, 0), event.seq)
    for incident_id, seqs in present.items():
        problems.extend(
            AuditProblem(incident_id=incident_id, seq=n, problem="sequence gap: event missing")
            for n in range(1, max(seqs))
            if n not in seqs
        )
    return problems


def seal_head(
    key: bytes,
    gseq: int,
    head_hash: str,
    digests: int,
    digest_name: str | None,
    digest_sha256: str | None,
    digest_gseq: int,
) -> LogHead:
    """The signed head after the event (`gseq`, `head_hash`) and the newest digest."""
    fields: dict[str, Any] = {
        "gseq": gseq,
        "hash": head_hash,
        "digests": digests,
        "digest_name": digest_name,
        "digest_sha256": digest_sha256,
        "digest_gseq": digest_gseq,
        "key_id": key_id(key),
    }
    return LogHead(**fields, mac=mac(key, fields))


def head_is_valid(key: bytes, head: LogHead) -> bool:
    """Whether the head's signature was made with `key` over its fields."""
    return hmac.compare_digest(head.mac, mac(key, head.model_dump(exclude={"mac"})))


def head_problems(
    key: bytes, head: LogHead | None, events: Sequence[AuditEvent]
) -> list[AuditProblem]:
    """Check the signed head against the log's last event."""
    if head is None:
        missing = AuditProblem(problem="signed head missing: its record was deleted")
        return [missing] if events else []
    problems: list[AuditProblem] = []
    if not head_is_valid(key, head):
        hint = ""
        if head.key_id != key_id(key):
            hint = f" (it names key {head.key_id}; the configured key is {key_id(key)})"
        problems.append(
            AuditProblem(problem=f"signed head invalid: edited or signed with another key{hint}")
        )
    last = events[-1] if events else None
    last_gseq = last.gseq if last else 0
    if head.gseq > last_gseq:
        problems.append(
            AuditProblem(
                problem=f"tail truncated: the signed head is at #{head.gseq},"
                f" the log ends at #{last_gseq}"
            )
        )
    elif head.gseq < last_gseq:
        problems.append(
            AuditProblem(
                gseq=head.gseq + 1, problem="after the signed head: not written by the healer"
            )
        )
    elif last is not None and last.hash != head.hash:
        problems.append(
            AuditProblem(
                gseq=last.gseq,
                problem="does not match the signed head: the log was re-chained or forged",
            )
        )
    return problems
