"""Named locks in SQLite with an expiry, so a crashed holder never blocks forever."""

from __future__ import annotations

from datetime import datetime, timedelta

from healer.store.canonical import sortable
from healer.store.sqlite_base import SqliteBase


class SqliteLocks(SqliteBase):
    """`Locks` over SQLite: one holder per name until it releases or its lease expires."""

    def acquire_lock(self, name: str, owner: str, lease: timedelta, now: datetime) -> bool:
        """Take `name` for `owner` until `now + lease`; False while another owner holds it.

        Taking a lock one already holds renews its lease.
        """
        until, at = sortable(now + lease, "until"), sortable(now, "now")
        with self._write() as db:
            taken = db.execute(
                "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
                " expires_at = excluded.expires_at"
                " WHERE locks.owner = excluded.owner OR locks.expires_at <= ?",
                (name, owner, until, at),
            ).rowcount
        return bool(taken)

    def release_lock(self, name: str, owner: str) -> None:
        """Give `name` back; releasing a lock one does not hold does nothing."""
        with self._write() as db:
            db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))
