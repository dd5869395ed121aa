"""Signed digests of the audit log, written outside the store (the CloudTrail digest pattern).

A digest names the log's head (gseq, hash, count) at a moment, the incidents with events
since the previous digest, and the previous digest's name and SHA-256; it is signed with
the audit key. Digests are written at the first event, every N events and at every close.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from healer.domain import AuditEvent
from healer.store.canonical import canonical_json, require_utc
from healer.store.chain import key_id, mac
from healer.store.models import AuditProblem, LogHead


class Digest(BaseModel):
    """The content of one digest file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["healer-audit-digest/1"] = "healer-audit-digest/1"
    number: int
    head_gseq: int
    head_hash: str
    event_count: int
    written_at: datetime
    reason: str
    incidents: dict[str, int]
    previous_name: str | None
    previous_sha256: str | None
    key_id: str
    signature: str = ""

    def signed_fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"signature"})


def digest_reason(event: AuditEvent, every: int) -> str | None:
    """Why a digest is due after `event`, or None."""
    if event.kind == "closed":
        return "incident closed"
    if event.gseq == 1:
        return "first event"
    if event.gseq % every == 0:
        return f"every {every} events"
    return None


def build_digest(
    key: bytes,
    number: int,
    head: AuditEvent,
    at: datetime,
    reason: str,
    incidents: dict[str, int],
    previous: tuple[str | None, str | None],
) -> tuple[str, bytes]:
    """The name and bytes of digest `number`, whose head is `head`."""
    at = require_utc(at, "at")
    digest = Digest(
        number=number,
        head_gseq=head.gseq,
        head_hash=head.hash,
        event_count=head.gseq,
        written_at=at,
        reason=reason,
        incidents=incidents,
        previous_name=previous[0],
        previous_sha256=previous[1],
        key_id=key_id(key),
    )
    signed = digest.model_copy(update={"signature": mac(key, digest.signed_fields())})
    name = f"{number:06d}-{at:%Y%m%dT%H%M%S%fZ}"
    return name, (canonical_json(signed.model_dump(mode="json")) + "\n").encode()


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _log(problem: str, **where: Any) -> AuditProblem:
    return AuditProblem(problem=problem, **where)


def _read(
    key: bytes, files: Sequence[tuple[str, bytes]]
) -> tuple[list[tuple[str, str, Digest, bool]], list[AuditProblem]]:
    """(name, sha256, digest, signature valid) of each readable file, and what is wrong."""
    read: list[tuple[str, str, Digest, bool]] = []
    problems: list[AuditProblem] = []
    for name, body in files:
        try:
            digest = Digest.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            problems.append(_log(f"digest {name}: unreadable: it was edited"))
            continue
        valid = hmac.compare_digest(digest.signature, mac(key, digest.signed_fields()))
        if not valid:
            problems.append(
                _log(f"digest {name}: signature invalid: edited or signed with another key")
            )
        read.append((name, sha256(body), digest, valid))
    return read, problems


def digest_problems(
    key: bytes,
    files: Sequence[tuple[str, bytes]],
    events: Sequence[AuditEvent],
    head: LogHead | None,
    location: str,
) -> list[AuditProblem]:
    """Check the digest files against each other, the signed head and the log."""
    if not files:
        found = f"no digest in {location}: the log's anchors were deleted"
        return [_log(found)] if events else []
    read, problems = _read(key, files)
    problems += _sequence(read, head)
    trusted = [digest for _, _, digest, valid in read if valid]
    return problems + _log_claims(trusted, events)


def _sequence(
    read: list[tuple[str, str, Digest, bool]], head: LogHead | None
) -> list[AuditProblem]:
    problems: list[AuditProblem] = []
    by_number: dict[int, list[tuple[str, str, Digest, bool]]] = {}
    for item in read:
        by_number.setdefault(item[2].number, []).append(item)
    for number, items in sorted(by_number.items()):
        if len(items) > 1:
            names = " and ".join(name for name, *_ in items)
            problems.append(_log(f"digests {names} share number {number:06d}: log restarted?"))
    newest = max(by_number, default=0)
    problems += [
        _log(f"digest {n:06d} missing (deleted)")
        for n in range(1, newest + 1)
        if n not in by_number
    ]
    for number, items in sorted(by_number.items()):
        before = by_number.get(number - 1)
        if len(items) != 1 or before is None or len(before) != 1:
            continue
        (_, _, digest, _), (name, body_sha, _, _) = items[0], before[0]
        if (digest.previous_name, digest.previous_sha256) != (name, body_sha):
            problems.append(
                _log(f"digest {number:06d}: previous digest {number - 1:06d} changed or replaced")
            )
    if head is not None and head.digests > newest:
        problems.append(
            _log(
                f"the signed head names digest {head.digests:06d}; the newest found is"
                f" {newest:06d}: digests were deleted"
            )
        )
    return problems


def _log_claims(trusted: list[Digest], events: Sequence[AuditEvent]) -> list[AuditProblem]:
    problems: list[AuditProblem] = []
    by_gseq = {event.gseq: event for event in events}
    last_gseq = events[-1].gseq if events else 0
    beyond = [d for d in trusted if d.head_gseq > last_gseq]
    if beyond:
        newest = max(beyond, key=lambda d: d.head_gseq)
        problems.append(
            _log(
                f"tail truncated: the log ends at #{last_gseq},"
                f" digest {newest.number:06d} covers #{newest.head_gseq}"
            )
        )
    for digest in trusted:
        event = by_gseq.get(digest.head_gseq)
        if event is not None and event.hash != digest.head_hash:
            problems.append(
                _log(
                    f"does not match digest {digest.number:06d}: the log was re-chained or forged",
                    gseq=digest.head_gseq,
                )
            )
    return problems + _incident_claims(trusted, events)


def _incident_claims(trusted: list[Digest], events: Sequence[AuditEvent]) -> list[AuditProblem]:
    claimed: dict[str, tuple[int, int]] = {}
    for digest in trusted:
        for incident_id, seq in digest.incidents.items():
            if seq >= claimed.get(incident_id, (0, 0))[0]:
                claimed[incident_id] = (seq, digest.number)
    present: dict[str, set[int]] = {}
    for event in events:
        present.setdefault(event.incident_id, set()).add(event.seq)
    problems: list[AuditProblem] = []
    for incident_id, (seq, number) in claimed.items():
        seqs = present.get(incident_id)
        if seqs is None:
            problems.append(
                _log(
                    f"incident deleted: digest {number:06d} covers it up to #{seq};"
                    " none of its events remain",
                    incident_id=incident_id,
                )
            )
        elif max(seqs) < seq:
            problems.append(
                _log(
                    f"events missing after #{max(seqs)}:"
                    f" digest {number:06d} covers it up to #{seq}",
                    incident_id=incident_id,
                    seq=max(seqs) + 1,
                )
            )
    return problems
