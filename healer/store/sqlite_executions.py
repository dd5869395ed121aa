"""The execution ledger in SQLite: an intent is recorded before every side effect."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from healer.domain import ActionId
from healer.errors import ActionRejected
from healer.store.canonical import canonical_json, sortable
from healer.store.models import FINAL_EXECUTION_STATUSES, ExecutionRecord, ExecutionStatus
from healer.store.sqlite_base import SqliteBase
from healer.store.sqlite_rows import execution_from_row


class SqliteExecutionLedger(SqliteBase):
    """`ExecutionLedger` over SQLite."""

    def begin(
        self,
        incident_id: str,
        plan_hash: str,
        action: ActionId | str,
        target: str,
        params: dict[str, Any],
        at: datetime | None = None,
    ) -> ExecutionRecord:
        """Record the intent before acting; an existing record is returned instead.

        Each call counts in `attempts`; a returned record with `attempts > 1` is a resume:
        look at its `status` and `external_id` before doing anything.

        Raises:
            ValueError: `action` is not a catalog action id.
            ActionRejected: this plan was begun with another action, target or parameters.
        """
        action = ActionId(action)
        started_at = sortable(at or self._clock(), "at")
        params_json = canonical_json(params)
        with self._write() as db:
            row = self._execution_row(db, incident_id, plan_hash)
            if row is None:
                db.execute(
                    "INSERT INTO executions (incident_id, plan_hash, status, action, target,"
                    " params, started_at) VALUES (?, ?, 'started', ?, ?, ?, ?)",
                    (incident_id, plan_hash, action.value, target, params_json, started_at),
                )
            elif (row["action"], row["target"], row["params"]) != (action, target, params_json):
                raise ActionRejected(
                    f"execution {incident_id}/{plan_hash[:12]} was begun as {row['action']}"
                    f" on {row['target']} {row['params']}, not {action.value} on {target}"
                    f" {params_json}"
                )
            else:
                db.execute(
                    "UPDATE executions SET attempts = attempts + 1"
                    " WHERE incident_id = ? AND plan_hash = ?",
                    (incident_id, plan_hash),
                )
            row = self._require_execution(db, incident_id, plan_hash)
        return execution_from_row(row)

    def set_external_id(
        self, incident_id: str, plan_hash: str, external_id: str
    ) -> ExecutionRecord:
        """Remember the provider's id of the side effect (e.g. an SSM command id).

        Raises:
            LookupError: no execution was begun for this plan.
            ActionRejected: a different external id is already recorded.
        """
        with self._write() as db:
            row = self._require_execution(db, incident_id, plan_hash)
            if row["external_id"] not in (None, external_id):
                raise ActionRejected(
                    f"execution {incident_id}/{plan_hash[:12]} already has external id"
                    f" {row['external_id']}, not {external_id}"
                )
            db.execute(
                "UPDATE executions SET external_id = ? WHERE incident_id = ? AND plan_hash = ?",
                (external_id, incident_id, plan_hash),
            )
            row = self._require_execution(db, incident_id, plan_hash)
        return execution_from_row(row)

    def complete(
        self,
        incident_id: str,
        plan_hash: str,
        status: ExecutionStatus,
        result: dict[str, Any],
        at: datetime | None = None,
    ) -> ExecutionRecord:
        """Record the outcome of a begun execution; repeating the same outcome is a no-op.

        Raises:
            ValueError: `status` is not "succeeded" or "failed".
            LookupError: no execution was begun for this plan.
            ActionRejected: the execution already finished with another status.
        """
        if status not in FINAL_EXECUTION_STATUSES:
            raise ValueError(f"status: {status!r} is not one of succeeded, failed")
        finished_at = sortable(at or self._clock(), "at")
        with self._write() as db:
            row = self._require_execution(db, incident_id, plan_hash)
            if row["status"] == "started":
                db.execute(
                    "UPDATE executions SET status = ?, result = ?, finished_at = ?"
                    " WHERE incident_id = ? AND plan_hash = ? AND status = 'started'",
                    (status, canonical_json(result), finished_at, incident_id, plan_hash),
                )
                row = self._require_execution(db, incident_id, plan_hash)
            elif row["status"] != status:
                raise ActionRejected(
                    f"execution {incident_id}/{plan_hash[:12]} already {row['status']}"
                )
        return execution_from_row(row)

    def get_execution(self, incident_id: str, plan_hash: str) -> ExecutionRecord | None:
        """The record, or None."""
        with self._read() as db:
            row = self._execution_row(db, incident_id, plan_hash)
        return None if row is None else execution_from_row(row)

    @staticmethod
    def _execution_row(
        db: sqlite3.Connection, incident_id: str, plan_hash: str
    ) -> sqlite3.Row | None:
        row: sqlite3.Row | None = db.execute(
            "SELECT * FROM executions WHERE incident_id = ? AND plan_hash = ?",
            (incident_id, plan_hash),
        ).fetchone()
        return row

    def _require_execution(
        self, db: sqlite3.Connection, incident_id: str, plan_hash: str
    ) -> sqlite3.Row:
        row = self._execution_row(db, incident_id, plan_hash)
        if row is None:
            raise LookupError(f"no execution begun for {incident_id}/{plan_hash[:12]}")
        return row
