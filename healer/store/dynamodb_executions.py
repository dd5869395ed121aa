"""The execution ledger and named locks in DynamoDB, by conditional writes.

An execution is one item (`EXECUTION#<incident>`, `PLAN#<plan hash>`) created only if absent,
with an item per target (`TARGET#<target>`) for the action history, in one transaction; two
containers that begin the same plan share one intent; its outcome is written only while it is
`started`. A lock is one item (`LOCK#<name>`) taken only if free, expired or already its
owner's.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from healer.domain import ActionId
from healer.errors import ActionRejected
from healer.store.canonical import canonical_json, sortable
from healer.store.dynamodb_base import DynamoBase, new_token
from healer.store.models import FINAL_EXECUTION_STATUSES, ExecutionRecord, ExecutionStatus


class DynamoExecutionLedger(DynamoBase):
    """`ExecutionLedger` over DynamoDB."""

    def begin(
        self,
        incident_id: str,
        plan_hash: str,
        action: ActionId | str,
        target: str,
        params: dict[str, Any],
        at: datetime | None = None,
    ) -> ExecutionRecord:
        """Record the intent before acting; an existing record is returned instead, its
        `attempts` counted up (above 1 is a resume: look at `status` and `external_id`).

        Raises:
            ValueError: `action` is not a catalog action id.
            ActionRejected: this plan was begun with another action, target or parameters.
        """
        writes, item = self.begin_writes(incident_id, plan_hash, action, target, params, at)
        created = self._conditional(  # the resource's client takes plain values
            self._table.meta.client.transact_write_items, TransactItems=writes
        )
        if created is not None or self._landed(item["pk"], item["sk"], item["token"]):
            return _execution(item)
        record, updated = self._update(
            incident_id,
            plan_hash,
            UpdateExpression="ADD attempts :one",
            ConditionExpression="#a = :a AND #t = :t AND #p = :p",
            ExpressionAttributeNames={"#a": "action", "#t": "target", "#p": "params"},
            ExpressionAttributeValues={
                ":one": 1,
                ":a": item["action"],
                ":t": target,
                ":p": item["params"],
            },
        )
        if updated:
            return record
        raise ActionRejected(
            f"execution {incident_id}/{plan_hash[:12]} was begun as {record.action.value}"
            f" on {record.target} {canonical_json(record.params)}, not {item['action']} on"
            f" {target} {item['params']}"
        )

    def begin_writes(
        self,
        incident_id: str,
        plan_hash: str,
        action: ActionId | str,
        target: str,
        params: dict[str, Any],
        at: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The transaction items that record a new intent (conditional on none existing) and
        the execution item they write (`begin`, or a bigger transaction)."""
        action = ActionId(action)
        started_at = sortable(at or self._clock(), "at")
        item = {
            **_key(incident_id, plan_hash),
            "action": action.value,
            "target": target,
            "params": canonical_json(params),
            "incident_id": incident_id,
            "plan_hash": plan_hash,
            "status": "started",
            "started_at": started_at,
            "attempts": 1,
            "token": new_token(),
        }
        on_target = {  # the actions on a target, in time, read exactly by `past_actions`
            "pk": f"TARGET#{target}",
            "sk": f"{started_at}#{incident_id}#{plan_hash}",
            "incident_id": incident_id,
            "action": action.value,
            "target": target,
            "started_at": started_at,
        }
        table = self._table.name
        writes = [
            {
                "Put": {
                    "TableName": table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": table, "Item": on_target}},
        ]
        return writes, item

    def set_external_id(
        self, incident_id: str, plan_hash: str, external_id: str
    ) -> ExecutionRecord:
        """Remember the provider's id of the side effect (e.g. an SSM command id).

        Raises:
            LookupError: no execution was begun for this plan.
            ActionRejected: a different external id is already recorded.
        """
        record, updated = self._update(
            incident_id,
            plan_hash,
            UpdateExpression="SET external_id = :e",
            ConditionExpression="attribute_exists(pk) AND"
            " (attribute_not_exists(external_id) OR external_id = :e)",
            ExpressionAttributeValues={":e": external_id},
        )
        if updated:
            return record
        raise ActionRejected(
            f"execution {incident_id}/{plan_hash[:12]} already has external id"
            f" {record.external_id}, not {external_id}"
        )

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
        record, updated = self._update(
            incident_id,
            plan_hash,
            UpdateExpression="SET #s = :s, #r = :r, finished_at = :f",
            ConditionExpression="#s = :started",
            ExpressionAttributeNames={"#s": "status", "#r": "result"},
            ExpressionAttributeValues={
                ":s": status,
                ":r": canonical_json(result),
                ":f": sortable(at or self._clock(), "at"),
                ":started": "started",
            },
        )
        if updated or record.status == status:  # the same outcome again is a no-op
            return record
        raise ActionRejected(f"execution {incident_id}/{plan_hash[:12]} already {record.status}")

    def get_execution(self, incident_id: str, plan_hash: str) -> ExecutionRecord | None:
        """The record, or None."""
        item = self._get(**_key(incident_id, plan_hash))
        return None if item is None else _execution(item)

    def _update(
        self, incident_id: str, plan_hash: str, **update: Any
    ) -> tuple[ExecutionRecord, bool]:
        """A conditional update of an execution: (the record after it, True), or (the
        record as stored, False) when its condition did not hold.

        Raises:
            LookupError: no execution was begun for this plan.
        """
        key = _key(incident_id, plan_hash)
        response = self._conditional(
            self._table.update_item, Key=key, ReturnValues="ALL_NEW", **update
        )
        if response is not None:
            return _execution(response["Attributes"]), True
        item = self._get(**key)
        if item is None:
            raise LookupError(f"no execution begun for {incident_id}/{plan_hash[:12]}")
        return _execution(item), False


class DynamoLocks(DynamoBase):
    """Named locks over DynamoDB: one holder per name until it releases or its lease ends."""

    def acquire_lock(self, name: str, owner: str, lease: timedelta, now: datetime) -> bool:
        """Take `name` for `owner` until `now + lease`; False while another owner holds it.
        Taking a lock one already holds renews its lease."""
        taken = self._conditional(
            self._table.put_item,
            Item={
                "pk": f"LOCK#{name}",
                "sk": "LOCK",
                "owner": owner,
                "expires_at": sortable(now + lease, "until"),
            },
            ConditionExpression="attribute_not_exists(pk) OR #o = :o OR expires_at <= :now",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": owner, ":now": sortable(now, "now")},
        )
        return taken is not None

    def release_lock(self, name: str, owner: str) -> None:
        """Give `name` back; releasing a lock one does not hold does nothing."""
        self._conditional(
            self._table.delete_item,
            Key={"pk": f"LOCK#{name}", "sk": "LOCK"},
            ConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": owner},
        )


def _key(incident_id: str, plan_hash: str) -> dict[str, str]:
    """One partition per incident, so no two (incident, plan) pairs share a key."""
    return {"pk": f"EXECUTION#{incident_id}", "sk": f"PLAN#{plan_hash}"}


def _execution(item: dict[str, Any]) -> ExecutionRecord:
    result = item.get("result")
    return ExecutionRecord(
        incident_id=item["incident_id"],
        plan_hash=item["plan_hash"],
        status=item["status"],
        action=ActionId(item["action"]),
        target=item["target"],
        params=json.loads(item["params"]),
        external_id=item.get("external_id"),
        result=None if result is None else json.loads(result),
        started_at=item["started_at"],
        finished_at=item.get("finished_at"),
        attempts=int(item["attempts"]),
    )
