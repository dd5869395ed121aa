"""The event ledger in SQLite: every delivery of every alarm event, with its fate."""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Any

from healer.store.canonical import raw_dedup_key, raw_json, sortable
from healer.store.models import EVENT_STATUSES, EventRecord, EventStatus
from healer.store.sqlite_base import SqliteBase
from healer.store.sqlite_rows import event_from_row


class SqliteEventLedger(SqliteBase):
    """`EventLedger` over SQLite."""

    def record(
        self,
        dedup_key: str | None,
        status: EventStatus,
        reason: str,
        incident_id: str | None,
        raw: dict[str, Any],
    ) -> bool:
        """Record one delivery; True if `dedup_key` was new, False for a duplicate.

        A repeated key is recorded too, with status "duplicate". An empty or None key (a
        malformed event) is replaced by `raw_dedup_key(raw)`.
        """
        if status not in EVENT_STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(EVENT_STATUSES)}")
        key = dedup_key or raw_dedup_key(raw)
        with self._write() as db:
            first = (
                db.execute("SELECT 1 FROM events WHERE dedup_key = ?", (key,)).fetchone() is None
            )
            if not first and status != "duplicate":
                note = "duplicate delivery of an event already recorded"
                status, reason = "duplicate", f"{note}; {reason}" if reason else note
            db.execute(
                "INSERT INTO events (dedup_key, first, status, reason, incident_id, raw,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, int(first), status, reason, incident_id, raw_json(raw), self._now()),
            )
        return first

    def seen(self, dedup_key: str) -> bool:
        """Whether any delivery with this key was recorded."""
        with self._read() as db:
            row = db.execute("SELECT 1 FROM events WHERE dedup_key = ?", (dedup_key,)).fetchone()
        return row is not None

    def first_delivery(self, dedup_key: str) -> EventRecord | None:
        """The first delivery recorded with this key, or None."""
        with self._read() as db:
            row = db.execute(
                "SELECT * FROM events WHERE dedup_key = ? AND first = 1", (dedup_key,)
            ).fetchone()
        return None if row is None else event_from_row(row)

    def note_transition(self, alarm: str, at: datetime, window: timedelta) -> int:
        """Count one state change of `alarm`; how many it had in the window up to `at`."""
        since = sortable(at - window, "since")
        with self._write() as db:
            db.execute("DELETE FROM alarm_transitions WHERE alarm = ? AND at <= ?", (alarm, since))
            db.execute(
                "INSERT INTO alarm_transitions (alarm, at) VALUES (?, ?)",
                (alarm, sortable(at, "at")),
            )
            row = db.execute(
                "SELECT count(*) FROM alarm_transitions WHERE alarm = ? AND at > ? AND at <= ?",
                (alarm, since, sortable(at, "at")),
            ).fetchone()
        return int(row[0])

    def list_events(self, limit: int = 100) -> builtins.list[EventRecord]:
        """The newest deliveries first."""
        with self._read() as db:
            rows = db.execute("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [event_from_row(row) for row in rows]
