"""Approvals in SQLite; single use by conditional `UPDATE ... WHERE status = ?`."""

from __future__ import annotations

import json
from datetime import datetime

from healer.domain import Approval, ApprovalStatus
from healer.errors import ActionRejected
from healer.store.canonical import sortable
from healer.store.protocols import APPROVAL_TRANSITIONS
from healer.store.sqlite_base import SqliteBase
from healer.store.sqlite_rows import approval_from_row


class SqliteApprovalStore(SqliteBase):
    """`ApprovalStore` over SQLite."""

    def create(self, approval: Approval) -> Approval:
        """Store a new approval and return it as stored.

        Re-creating an approval with the same id, incident and plan (a step re-run after a
        crash) returns the stored one unchanged; ValueError for any other existing id.
        """
        with self._write() as db:
            row = db.execute("SELECT * FROM approvals WHERE id = ?", (approval.id,)).fetchone()
            if row is not None:
                stored = approval_from_row(row)
                if (stored.incident_id, stored.plan_hash) != (
                    approval.incident_id,
                    approval.plan_hash,
                ):
                    raise ValueError(f"approval {approval.id} already exists")
                return stored
            db.execute(
                "INSERT INTO approvals (id, incident_id, plan_hash, status, automatic,"
                " requested_at, expires_at, decided_by, decided_at, plan, requested_by,"
                " approvals_needed, approved_by, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    approval.id,
                    approval.incident_id,
                    approval.plan_hash,
                    approval.status.value,
                    int(approval.automatic),
                    sortable(approval.requested_at, "requested_at"),
                    sortable(approval.expires_at, "expires_at"),
                    approval.decided_by,
                    _optional_time(approval.decided_at, "decided_at"),
                    approval.plan.model_dump_json() if approval.plan else None,
                    approval.requested_by,
                    approval.approvals_needed,
                    json.dumps(list(approval.approved_by)),
                    self._now(),
                ),
            )
        return approval

    def add_approver(self, approval_id: str, user: str, at: datetime) -> Approval:
        """Record one human's approval of a PENDING approval, atomically; it becomes APPROVED
        when `approvals_needed` distinct humans have approved.

        Raises:
            ActionRejected: the approval does not exist, is not PENDING, or `user` already
                approved it or requested it.
        """
        with self._write() as db:
            row = db.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
            if row is None:
                raise ActionRejected(f"approval {approval_id} does not exist")
            approval = approval_from_row(row)
            if approval.status != ApprovalStatus.PENDING:
                raise ActionRejected(f"approval {approval_id} is {approval.status}, not PENDING")
            if user == approval.requested_by:
                raise ActionRejected(f"{user} requested this action and may not approve it")
            if user in approval.approved_by:
                raise ActionRejected(f"{user} already approved {approval_id}; another human must")
            approved_by = [*approval.approved_by, user]
            done = len(approved_by) >= approval.approvals_needed
            when = sortable(at, "at")
            db.execute(
                "UPDATE approvals SET approved_by = ?, status = ?, updated_at = ?,"
                " decided_by = CASE WHEN ? THEN ? ELSE decided_by END,"
                " decided_at = CASE WHEN ? THEN ? ELSE decided_at END"
                " WHERE id = ? AND status = 'PENDING'",
                (
                    json.dumps(approved_by),
                    ApprovalStatus.APPROVED.value if done else ApprovalStatus.PENDING.value,
                    when,
                    done,
                    ",".join(approved_by),
                    done,
                    when,
                    approval_id,
                ),
            )
            row = db.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        return approval_from_row(row)

    def get_approval(self, approval_id: str) -> Approval | None:
        """The approval, or None."""
        with self._read() as db:
            row = db.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        return None if row is None else approval_from_row(row)

    def for_incident(self, incident_id: str) -> Approval | None:
        """The incident's most recently requested approval, or None."""
        with self._read() as db:
            row = db.execute(
                "SELECT * FROM approvals WHERE incident_id = ?"
                " ORDER BY requested_at DESC, rowid DESC LIMIT 1",
                (incident_id,),
            ).fetchone()
        return None if row is None else approval_from_row(row)

    def transition(
        self,
        approval_id: str,
        from_status: ApprovalStatus,
        to_status: ApprovalStatus,
        by: str | None,
        at: datetime,
    ) -> Approval:
        """Move the approval from `from_status` to `to_status` with a conditional update.

        Leaving PENDING records `by` and `at` as the decision; later moves (consuming,
        expiring an approved plan) keep who decided.

        Raises:
            ActionRejected: the move is not allowed, the approval does not exist, or it is
                not in `from_status` (e.g. already CONSUMED: approvals are single-use).
        """
        if to_status not in APPROVAL_TRANSITIONS.get(from_status, frozenset()):
            raise ActionRejected(
                f"approval {approval_id}: {from_status.value} -> {to_status.value}"
                " is not an allowed transition"
            )
        when = sortable(at, "at")
        decision = from_status is ApprovalStatus.PENDING
        with self._write() as db:
            updated = db.execute(
                "UPDATE approvals SET status = ?, updated_at = ?,"
                " decided_by = CASE WHEN ? THEN ? ELSE decided_by END,"
                " decided_at = CASE WHEN ? THEN ? ELSE decided_at END"
                " WHERE id = ? AND status = ?",
                (
                    to_status.value,
                    when,
                    decision,
                    by,
                    decision,
                    when,
                    approval_id,
                    from_status.value,
                ),
            ).rowcount
            row = db.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        if row is None:
            raise ActionRejected(f"approval {approval_id} does not exist")
        if not updated:
            raise ActionRejected(
                f"approval {approval_id} is {row['status']}, not {from_status.value}:"
                f" cannot move it to {to_status.value}"
            )
        return approval_from_row(row)


def _optional_time(value: datetime | None, field: str) -> str | None:
    return None if value is None else sortable(value, field)
