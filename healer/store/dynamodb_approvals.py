"""Approvals in DynamoDB; single use by writes conditional on the version that was read.

An approval is one item (`APPROVAL#<id>`) holding the approval as JSON, its status and a
version. Every change reads it, applies the rule and writes it back only if the version is
still the one read; a racing writer's change makes the loser re-read and re-apply the rule,
so an approval is consumed once and a decision is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from healer.domain import Approval, ApprovalStatus
from healer.errors import ActionRejected, ConcurrentUpdate
from healer.store.canonical import require_utc, sortable
from healer.store.dynamodb_base import (
    GSI1,
    ID_WIDTH,
    DynamoBase,
    new_token,
)
from healer.store.protocols import APPROVAL_TRANSITIONS

MAX_RACES = 20  # re-reads before giving up on an approval other writers keep changing


class DynamoApprovalStore(DynamoBase):
    """`ApprovalStore` over DynamoDB."""

    def create(self, approval: Approval) -> Approval:
        """Store a new approval and return it as stored; re-creating one with the same id,
        incident and plan returns the stored one unchanged; ValueError for any other
        existing id."""
        approval = _in_utc(approval)
        number = self._next_id("approvals")
        token = new_token()
        item = {
            "pk": f"APPROVAL#{approval.id}",
            "sk": "APPROVAL",
            "gsi1pk": f"APPROVALS#{approval.incident_id}",
            "gsi1sk": f"{sortable(approval.requested_at, 'requested_at')}#{number:0{ID_WIDTH}d}",
            "version": 1,
            "status": approval.status.value,
            "doc": approval.model_dump_json(),
            "token": token,
        }
        created = self._conditional(
            self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        if created is not None or self._landed(f"APPROVAL#{approval.id}", "APPROVAL", token):
            return approval
        stored = self.get_approval(approval.id)
        if stored is None or (stored.incident_id, stored.plan_hash) != (
            approval.incident_id,
            approval.plan_hash,
        ):
            raise ValueError(f"approval {approval.id} already exists")
        return stored

    def add_approver(self, approval_id: str, user: str, at: datetime) -> Approval:
        """Record one human's approval of a PENDING approval; APPROVED once
        `approvals_needed` distinct humans (never its requester) approved.

        Raises:
            ActionRejected: not PENDING, unknown, or `user` already approved or requested it.
        """
        at = require_utc(at, "at")

        def approve(approval: Approval) -> Approval:
            if approval.status != ApprovalStatus.PENDING:
                raise ActionRejected(f"approval {approval_id} is {approval.status}, not PENDING")
            if user == approval.requested_by:
                raise ActionRejected(f"{user} requested this action and may not approve it")
            if user in approval.approved_by:
                raise ActionRejected(f"{user} already approved {approval_id}; another human must")
            approved_by = (*approval.approved_by, user)
            if len(approved_by) < approval.approvals_needed:
                return approval.model_copy(update={"approved_by": approved_by})
            return approval.model_copy(
                update={
                    "approved_by": approved_by,
                    "status": ApprovalStatus.APPROVED,
                    "decided_by": ",".join(approved_by),
                    "decided_at": at,
                }
            )

        return self._change(approval_id, approve)

    def get_approval(self, approval_id: str) -> Approval | None:
        """The approval, or None."""
        item = self._get(f"APPROVAL#{approval_id}", "APPROVAL")
        return None if item is None else Approval.model_validate_json(item["doc"])

    def set_task_token(self, approval_id: str, task_token: str) -> None:
        """Keep the Step Functions task token that waits for this approval's decision. It stays
        in the store: the Slack button carries the approval id only."""
        self._call(
            self._table.put_item,
            Item={"pk": f"APPROVAL#{approval_id}", "sk": "TASK_TOKEN", "task_token": task_token},
        )

    def task_token(self, approval_id: str) -> str | None:
        """The task token waiting for this approval's decision, or None (not waiting yet)."""
        item = self._get(f"APPROVAL#{approval_id}", "TASK_TOKEN")
        return None if item is None else str(item["task_token"])

    def for_incident(self, incident_id: str) -> Approval | None:
        """The incident's most recently requested approval, or None. The index is eventually
        consistent: one another container created a moment ago may not be listed yet."""
        found = self._call(
            self._table.query,
            IndexName=GSI1,
            KeyConditionExpression=Key("gsi1pk").eq(f"APPROVALS#{incident_id}"),
            ScanIndexForward=False,
            Limit=1,
        )
        if not found["Items"]:
            return None
        return self.get_approval(Approval.model_validate_json(found["Items"][0]["doc"]).id)

    def transition(
        self,
        approval_id: str,
        from_status: ApprovalStatus,
        to_status: ApprovalStatus,
        by: str | None,
        at: datetime,
    ) -> Approval:
        """Move the approval from `from_status` to `to_status`, atomically; leaving PENDING
        records `by` and `at` as the decision.

        Raises:
            ActionRejected: the move is not allowed, the approval does not exist, or it is
                not in `from_status` (e.g. already CONSUMED: approvals are single-use).
        """
        return self._change(
            approval_id, _transition_rule(approval_id, from_status, to_status, by, at)
        )

    def transition_write(
        self,
        approval_id: str,
        from_status: ApprovalStatus,
        to_status: ApprovalStatus,
        by: str | None,
        at: datetime,
    ) -> tuple[dict[str, Any], Approval]:
        """The transaction item of `transition` (for a bigger transaction) and the approval it
        writes; the item's condition fails if the approval changed since it was read."""
        rule = _transition_rule(approval_id, from_status, to_status, by, at)
        update, changed, _ = self._change_write(approval_id, rule)
        return {"Update": {"TableName": self._table.name, **update}}, changed

    def _change(self, approval_id: str, rule: Callable[[Approval], Approval]) -> Approval:
        """Apply `rule` to the stored approval and write the result if nobody wrote since."""
        for _ in range(MAX_RACES):
            update, changed, token = self._change_write(approval_id, rule)
            written = self._conditional(self._table.update_item, **update)
            if written is not None or self._landed(update["Key"]["pk"], "APPROVAL", token):
                return changed
        raise ConcurrentUpdate(f"approval {approval_id} kept changing under {MAX_RACES} writers")

    def _change_write(
        self, approval_id: str, rule: Callable[[Approval], Approval]
    ) -> tuple[dict[str, Any], Approval, str]:
        """The conditional update that writes `rule` applied to the stored approval."""
        item = self._get(f"APPROVAL#{approval_id}", "APPROVAL")
        if item is None:
            raise ActionRejected(f"approval {approval_id} does not exist")
        changed = Approval.model_validate(
            rule(Approval.model_validate_json(item["doc"])).model_dump()
        )
        token = new_token()
        update = {
            "Key": {"pk": item["pk"], "sk": "APPROVAL"},
            "UpdateExpression": "SET #doc = :doc, #status = :status, #version = :next,"
            " #token = :token",
            "ConditionExpression": "#version = :read",
            "ExpressionAttributeNames": {
                "#doc": "doc",
                "#status": "status",
                "#version": "version",
                "#token": "token",
            },
            "ExpressionAttributeValues": {
                ":doc": changed.model_dump_json(),
                ":status": changed.status.value,
                ":next": int(item["version"]) + 1,
                ":read": item["version"],
                ":token": token,
            },
        }
        return update, changed, token


def _transition_rule(
    approval_id: str,
    from_status: ApprovalStatus,
    to_status: ApprovalStatus,
    by: str | None,
    at: datetime,
) -> Callable[[Approval], Approval]:
    """The change `transition` makes; ActionRejected for a move that is never allowed."""
    at = require_utc(at, "at")
    if to_status not in APPROVAL_TRANSITIONS.get(from_status, frozenset()):
        raise ActionRejected(
            f"approval {approval_id}: {from_status.value} -> {to_status.value}"
            " is not an allowed transition"
        )

    def move(approval: Approval) -> Approval:
        if approval.status != from_status:
            raise ActionRejected(
                f"approval {approval_id} is {approval.status.value}, not {from_status.value}:"
                f" cannot move it to {to_status.value}"
            )
        update: dict[str, Any] = {"status": to_status}
        if from_status is ApprovalStatus.PENDING:
            update |= {"decided_by": by, "decided_at": at}
        return approval.model_copy(update=update)

    return move


def _in_utc(approval: Approval) -> Approval:
    """The approval with its times in UTC, as the SQLite store returns them; ValueError
    naming the field for a naive time."""
    times = {
        name: require_utc(value, name)
        for name in ("requested_at", "expires_at", "decided_at")
        if (value := getattr(approval, name)) is not None
    }
    return approval.model_copy(update=times)
