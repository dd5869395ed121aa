"""The audit log in SQLite: append-only (triggers refuse UPDATE and DELETE), hash-chained."""

from __future__ import annotations

import builtins
import sqlite3
from datetime import datetime
from typing import Any

from healer.domain import AuditEvent
from healer.store.canonical import canonical_json
from healer.store.chain import GENESIS_HASH, build_event, verify_chain
from healer.store.models import AuditProblem, AuditReport
from healer.store.sqlite_base import SqliteBase
from healer.store.sqlite_rows import audit_from_row, audit_from_row_for_verify


class SqliteAuditLog(SqliteBase):
    """`AuditLog` over SQLite."""

    def append(
        self,
        incident_id: str,
        kind: str,
        actor: str,
        data: dict[str, Any],
        at: datetime | None = None,
    ) -> AuditEvent:
        """Append an event to the incident's chain and return it.

        Raises:
            ValueError: `kind` is not in `AUDIT_KINDS`, `actor` is empty, a time is naive,
                or `data` is not JSON-serialisable.
        """
        with self._write() as db:
            last = db.execute(
                "SELECT seq, hash FROM audit WHERE incident_id = ? ORDER BY seq DESC LIMIT 1",
                (incident_id,),
            ).fetchone()
            event = build_event(
                incident_id,
                kind,
                actor,
                data,
                at or self._clock(),
                prev_seq=0 if last is None else last["seq"],
                prev_hash=GENESIS_HASH if last is None else last["hash"],
            )
            db.execute(
                "INSERT INTO audit (incident_id, seq, kind, actor, at, data, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
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
        return event

    def events(self, incident_id: str) -> builtins.list[AuditEvent]:
        """The incident's events in `seq` order; ValueError if a row cannot be read."""
        return [audit_from_row(row) for row in self._audit_rows(incident_id)]

    def incident_ids(self) -> builtins.list[str]:
        """Incidents with audit events, in order of their first event."""
        with self._read() as db:
            rows = db.execute(
                "SELECT incident_id FROM audit GROUP BY incident_id ORDER BY MIN(id)"
            ).fetchall()
        return [row["incident_id"] for row in rows]

    def verify(self, incident_id: str | None = None) -> AuditReport:
        """Recompute one incident's chain, or every chain, and report what is wrong."""
        ids = [incident_id] if incident_id is not None else self.incident_ids()
        problems: builtins.list[AuditProblem] = []
        events_checked = 0
        for current in ids:
            events = [audit_from_row_for_verify(row) for row in self._audit_rows(current)]
            events_checked += len(events)
            problems.extend(verify_chain(current, events))
        return AuditReport(
            ok=not problems,
            incidents_checked=len(ids),
            events_checked=events_checked,
            problems=problems,
        )

    def _audit_rows(self, incident_id: str) -> builtins.list[sqlite3.Row]:
        with self._read() as db:
            return db.execute(
                "SELECT * FROM audit WHERE incident_id = ? ORDER BY seq", (incident_id,)
            ).fetchall()
