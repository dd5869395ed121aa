"""Incidents in SQLite: the whole document plus indexed columns."""

from __future__ import annotations

import builtins
from datetime import datetime

from healer.domain import ActionId, Incident, PastAction, Step
from healer.errors import ConcurrentUpdate
from healer.store.canonical import sortable
from healer.store.sqlite_base import SqliteBase

# `world` scoping: no filter when the parameter is None, else the incident document's `world`.
_IN_WORLD = "(? IS NULL OR json_extract(i.doc, '$.world') = ?)"


class SqliteIncidentStore(SqliteBase):
    """`IncidentStore` over SQLite."""

    def save(self, incident: Incident) -> None:
        """Insert or update the incident if nobody saved it since it was read; bumps its
        `version`.

        Raises:
            ConcurrentUpdate: the stored version is not the one this copy was read at.
        """
        opened_at = sortable(incident.opened_at, "opened_at")
        closed = incident.closed_at is not None or incident.step is Step.DONE
        version = incident.version + 1
        doc = incident.model_copy(update={"version": version}).model_dump_json()
        with self._write() as db:
            row = db.execute(
                "SELECT version FROM incidents WHERE id = ?", (incident.id,)
            ).fetchone()
            stored = 0 if row is None else row["version"]
            if stored != incident.version:
                raise ConcurrentUpdate(
                    f"incident {incident.id} was saved by another writer (version {stored}, "
                    f"this copy {incident.version}): reload it"
                )
            db.execute(
                "INSERT INTO incidents (id, opened_at, closed, doc, version, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " opened_at = excluded.opened_at, closed = excluded.closed,"
                " doc = excluded.doc, version = excluded.version, updated_at = excluded.updated_at",
                (incident.id, opened_at, int(closed), doc, version, self._now()),
            )
            db.execute("DELETE FROM incident_resources WHERE incident_id = ?", (incident.id,))
            db.executemany(
                "INSERT OR IGNORE INTO incident_resources (incident_id, resource) VALUES (?, ?)",
                [(incident.id, resource) for resource in incident.resources],
            )
        incident.version = version

    def get(self, incident_id: str) -> Incident | None:
        """The incident, or None."""
        with self._read() as db:
            row = db.execute("SELECT doc FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return None if row is None else Incident.model_validate_json(row["doc"])

    def find_open_for(
        self, resources: builtins.list[str], since: datetime, world: str | None = None
    ) -> Incident | None:
        """The newest open incident opened at or after `since` sharing a resource (in `world`
        when given: an account, or one sandbox run)."""
        wanted = sorted(set(resources))
        if not wanted:
            return None
        marks = ", ".join("?" * len(wanted))
        with self._read() as db:
            row = db.execute(
                "SELECT doc FROM incidents i WHERE closed = 0 AND opened_at >= ? AND EXISTS"
                " (SELECT 1 FROM incident_resources r WHERE r.incident_id = i.id"
                f" AND r.resource IN ({marks})) AND {_IN_WORLD}"
                " ORDER BY opened_at DESC, id DESC LIMIT 1",
                (sortable(since, "since"), *wanted, world, world),
            ).fetchone()
        return None if row is None else Incident.model_validate_json(row["doc"])

    def latest_open(self, since: datetime, world: str | None = None) -> Incident | None:
        """The newest open incident opened at or after `since` (in `world` when given)."""
        with self._read() as db:
            row = db.execute(
                f"SELECT doc FROM incidents i WHERE closed = 0 AND opened_at >= ? AND {_IN_WORLD}"
                " ORDER BY opened_at DESC, id DESC LIMIT 1",
                (sortable(since, "since"), world, world),
            ).fetchone()
        return None if row is None else Incident.model_validate_json(row["doc"])

    def past_actions(
        self, target: str, since: datetime, world: str | None = None
    ) -> builtins.list[PastAction]:
        """Actions begun on `target` at or after `since` (by incidents of `world` when given),
        oldest first, whatever their result.

        An action that failed, or whose outcome is not known yet, still counts: its side
        effect may have happened.
        """
        with self._read() as db:
            rows = db.execute(
                "SELECT e.action, e.target, e.started_at FROM executions e"
                " LEFT JOIN incidents i ON i.id = e.incident_id"
                f" WHERE e.target = ? AND e.started_at >= ? AND {_IN_WORLD}"
                " ORDER BY e.started_at",
                (target, sortable(since, "since"), world, world),
            ).fetchall()
        return [
            PastAction(
                action=ActionId(row["action"]),
                target=row["target"],
                at=datetime.fromisoformat(row["started_at"]),
            )
            for row in rows
        ]

    def list_open(self) -> builtins.list[Incident]:
        """Every open incident, newest first, however old."""
        with self._read() as db:
            rows = db.execute(
                "SELECT doc FROM incidents WHERE closed = 0 ORDER BY opened_at DESC, id DESC"
            ).fetchall()
        return [Incident.model_validate_json(row["doc"]) for row in rows]

    def list(self, limit: int = 50) -> builtins.list[Incident]:
        """The newest incidents first."""
        with self._read() as db:
            rows = db.execute(
                "SELECT doc FROM incidents ORDER BY opened_at DESC, id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Incident.model_validate_json(row["doc"]) for row in rows]
