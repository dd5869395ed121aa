"""The audit log in SQLite: one append-only HMAC chain across all incidents, a signed head,
and signed digests written to a `DigestSink` outside the database."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from healer.domain import AuditEvent
from healer.store.audit_key import AuditKey, process_audit_key
from healer.store.audit_records import (
    audit_report,
    event_for_verify,
    event_from_record,
    head_from_record,
    indexed_kind,
)
from healer.store.canonical import canonical_json
from healer.store.chain import GENESIS_HASH, authentic, build_event, seal_head
from healer.store.digest_sinks import DigestSink
from healer.store.digests import build_digest, digest_reason, sha256
from healer.store.models import AuditProblem, AuditReport
from healer.store.sqlite_base import SqliteBase, utc_now
from healer.store.sqlite_schema import AUDIT_TRIGGERS


class SqliteAuditLog(SqliteBase):
    """`AuditLog` over SQLite.

    Args:
        path: Database file, or ":memory:" for a throwaway store.
        clock: Returns the current aware time; injected by tests.
        timeout: Seconds to wait for another writer before giving up.
        audit_key: The HMAC key's source; None for a random key of this process only
            (tests and throwaway stores: such a log cannot be verified by another process).
        digests: Where signed digests go; None writes and checks none.
        digest_every: A digest is written every this many events (and at every close).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], datetime] = utc_now,
        timeout: float = 30.0,
        audit_key: AuditKey | None = None,
        digests: DigestSink | None = None,
        digest_every: int = 100,
    ) -> None:
        if digest_every < 1:
            raise ValueError(f"digest_every: {digest_every}; it must be at least 1")
        super().__init__(path, clock=clock, timeout=timeout)
        self._audit_key = audit_key or process_audit_key()
        self._digests = digests
        self._digest_every = digest_every
        self._batching = False
        self._digest_due: str | None = None  # inside a batch: why a digest is due at its end
        if "audit" in self.found_at_open:
            self._record_missing_triggers()

    def _record_missing_triggers(self) -> None:
        missing = [name for name in AUDIT_TRIGGERS if name not in self.found_at_open]
        if missing:
            with self._write() as db:
                db.executemany(
                    "INSERT INTO audit_findings (found_at, problem) VALUES (?, ?)",
                    [
                        (self._now(), f"trigger {name} was missing when the store was opened")
                        for name in missing
                    ],
                )

    def append(
        self,
        incident_id: str,
        kind: str,
        actor: str,
        data: dict[str, Any],
        at: datetime | None = None,
    ) -> AuditEvent:
        """Append an event to the log, reseal the head, write a digest when due; return it.

        Raises:
            ValueError: `kind` is not in `AUDIT_KINDS`, `actor` is empty, a time is naive,
                or `data` is not JSON-serialisable.
            ToolUnavailable: the database or the digest sink failed (nothing was appended).
        """
        key = self._audit_key.secret()
        with self._write() as db:
            last = db.execute("SELECT gseq, hash FROM audit ORDER BY gseq DESC LIMIT 1").fetchone()
            (prev_seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM audit WHERE incident_id = ?", (incident_id,)
            ).fetchone()
            event = build_event(
                key,
                incident_id,
                kind,
                actor,
                data,
                at or self._clock(),
                prev_gseq=0 if last is None else last["gseq"],
                prev_seq=prev_seq,
                prev_hash=GENESIS_HASH if last is None else last["hash"],
            )
            db.execute(
                "INSERT INTO audit (gseq, incident_id, seq, kind, actor, at, data, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.gseq,
                    event.incident_id,
                    event.seq,
                    event.kind,
                    event.actor,
                    event.at.isoformat(),
                    canonical_json(event.data),
                    event.prev_hash,
                    event.hash,
                ),
            )
            reason = digest_reason(event, self._digest_every)
            if reason is not None and self._batching:
                self._digest_due, reason = self._digest_due or reason, None
            self._reseal(db, key, event, reason)
        return event

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every write inside the block in one transaction: all land or none. A digest falling
        due inside is written once, for the last event, just before the commit, so a rollback
        never leaves a digest of events it took back."""
        with self._lock:
            if self._batching:
                yield
                return
            with self._write() as db:
                self._batching = True
                try:
                    yield
                    if self._digest_due is not None:
                        last = db.execute(
                            "SELECT * FROM audit ORDER BY gseq DESC LIMIT 1"
                        ).fetchone()
                        key = self._audit_key.secret()
                        self._reseal(db, key, event_from_record(last), self._digest_due)
                finally:
                    self._batching, self._digest_due = False, None

    def _reseal(
        self, db: sqlite3.Connection, key: bytes, event: AuditEvent, reason: str | None
    ) -> None:
        try:
            head = head_from_record(db.execute("SELECT * FROM audit_head").fetchone())
        except ValidationError:
            head = None  # tampered with; verify reports it
        digests, name, body_sha, digest_gseq = (
            (head.digests, head.digest_name, head.digest_sha256, head.digest_gseq)
            if head
            else (0, None, None, 0)
        )
        if self._digests is not None and reason is not None:
            incidents = dict(
                db.execute(
                    "SELECT incident_id, MAX(seq) FROM audit WHERE gseq > ? GROUP BY incident_id",
                    (digest_gseq,),
                ).fetchall()
            )
            name, body = build_digest(
                key, digests + 1, event, self._clock(), reason, incidents, (name, body_sha)
            )
            self._digests.write(name, body)
            digests, body_sha, digest_gseq = digests + 1, sha256(body), event.gseq
        sealed = seal_head(key, event.gseq, event.hash, digests, name, body_sha, digest_gseq)
        db.execute(
            "INSERT OR REPLACE INTO audit_head (id, gseq, hash, digests, digest_name,"
            " digest_sha256, digest_gseq, key_id, mac) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sealed.gseq,
                sealed.hash,
                sealed.digests,
                sealed.digest_name,
                sealed.digest_sha256,
                sealed.digest_gseq,
                sealed.key_id,
                sealed.mac,
            ),
        )

    def events(self, incident_id: str) -> builtins.list[AuditEvent]:
        """The incident's events in `seq` order; ValueError if a row cannot be read."""
        with self._read() as db:
            rows = db.execute(
                "SELECT * FROM audit WHERE incident_id = ? ORDER BY seq", (incident_id,)
            ).fetchall()
        return [event_from_record(row) for row in rows]

    def events_of_kind(self, kind: str) -> builtins.list[AuditEvent]:
        """Every incident's events of an indexed `kind`, in `gseq` order; an event whose keyed
        hash does not match (written without the key) is left out (`verify` reports it)."""
        indexed_kind(kind)
        with self._read() as db:
            rows = db.execute(
                "SELECT * FROM audit WHERE kind = ? ORDER BY gseq", (kind,)
            ).fetchall()
        key = self._audit_key.secret()
        return [e for e in map(event_from_record, rows) if authentic(key, e)]

    def incident_ids(self) -> builtins.list[str]:
        """Incidents with audit events, in order of their first event."""
        with self._read() as db:
            rows = db.execute(
                "SELECT incident_id FROM audit GROUP BY incident_id ORDER BY MIN(gseq)"
            ).fetchall()
        return [row["incident_id"] for row in rows]

    def verify(self, incident_id: str | None = None) -> AuditReport:
        """Verify the whole log, its signed head, its digests and its triggers.

        With `incident_id`, report that incident's problems and those of the whole log.
        """
        key = self._audit_key.secret()
        with self._read() as db:
            events = [
                event_for_verify(row)
                for row in db.execute("SELECT * FROM audit ORDER BY gseq").fetchall()
            ]
            head_row = db.execute("SELECT * FROM audit_head").fetchone()
            triggers = {
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
            }
            findings = db.execute("SELECT * FROM audit_findings ORDER BY rowid").fetchall()
        problems = [
            AuditProblem(problem=f"trigger {name} was removed")
            for name in AUDIT_TRIGGERS
            if name not in triggers
        ]
        problems += [
            AuditProblem(problem=f"{row['problem']} at {row['found_at']} (restored)")
            for row in findings
        ]
        head = None if head_row is None else dict(head_row)
        return audit_report(key, events, head, self._digests, problems, incident_id)
