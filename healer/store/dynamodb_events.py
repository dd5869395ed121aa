"""The event ledger in DynamoDB: every delivery of every alarm event, with its fate.

The first delivery of a key is the item (`EVENT#<key>`, `FIRST`), written only if absent, so
two containers racing on one key record one first delivery; every other delivery gets its own
item under the same key. The index lists all deliveries newest first.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from healer.store.canonical import raw_dedup_key, raw_json
from healer.store.dynamodb_base import (
    GSI1,
    ID_WIDTH,
    DynamoBase,
    new_token,
)
from healer.store.models import EVENT_STATUSES, EventRecord, EventStatus

DUPLICATE_NOTE = "duplicate delivery of an event already recorded"
TRANSITION_BUCKET_SECONDS = 60


class DynamoEventLedger(DynamoBase):
    """`EventLedger` over DynamoDB."""

    def record(
        self,
        dedup_key: str | None,
        status: EventStatus,
        reason: str,
        incident_id: str | None,
        raw: dict[str, Any],
    ) -> bool:
        """Record one delivery; True if `dedup_key` was new, False for a duplicate (recorded
        too, with status "duplicate"). An empty or None key becomes `raw_dedup_key(raw)`."""
        if status not in EVENT_STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(EVENT_STATUSES)}")
        key = dedup_key or raw_dedup_key(raw)
        item = self.delivery_item(key, status, reason, incident_id, raw)
        pk, token = item["pk"], item["token"]
        first = self._conditional(
            self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        if first is not None or self._landed(pk, "FIRST", token):
            return True
        if status != "duplicate":
            reason = f"{DUPLICATE_NOTE}; {reason}" if reason else DUPLICATE_NOTE
        duplicate = {**item, "status": "duplicate", "reason": reason, "first": False}
        self._call(self._table.put_item, Item={**duplicate, "sk": f"DELIVERY#{item['gsi1sk']}"})
        return False

    def delivery_item(
        self,
        dedup_key: str,
        status: EventStatus,
        reason: str,
        incident_id: str | None,
        raw: dict[str, Any],
    ) -> dict[str, Any]:
        """The item of a first delivery of `dedup_key`, to write only if none exists."""
        number = self._next_id("events")
        return {
            "pk": f"EVENT#{dedup_key}",
            "sk": "FIRST",
            "first": True,
            "gsi1pk": "EVENTS",
            "gsi1sk": f"{number:0{ID_WIDTH}d}",
            "id": number,
            "dedup_key": dedup_key,
            "status": status,
            "reason": reason,
            "raw": raw_json(raw),
            "received_at": self._now(),
            "token": new_token(),
            **({"incident_id": incident_id} if incident_id else {}),
        }

    def seen(self, dedup_key: str) -> bool:
        """Whether any delivery with this key was recorded."""
        found = self._call(
            self._table.query,
            KeyConditionExpression=Key("pk").eq(f"EVENT#{dedup_key}"),
            Limit=1,
            ConsistentRead=True,
        )
        return bool(found["Items"])

    def first_delivery(self, dedup_key: str) -> EventRecord | None:
        """The first delivery recorded with this key, or None."""
        item = self._get(f"EVENT#{dedup_key}", "FIRST")
        return None if item is None else _event(item)

    def list_events(self, limit: int = 100) -> builtins.list[EventRecord]:
        """The newest deliveries first. The index is eventually consistent: a delivery
        another container recorded a moment ago may not be listed yet (`seen` is exact)."""
        if limit == 0:
            return []
        items = self._query(
            limit=limit if limit > 0 else None,
            IndexName=GSI1,
            KeyConditionExpression=Key("gsi1pk").eq("EVENTS"),
            ScanIndexForward=False,
        )
        return [_event(item) for item in items]

    def note_transition(self, alarm: str, at: datetime, window: timedelta) -> int:
        """Count one state change of `alarm` in its minute's counter item (atomic `ADD`, kept
        a day by `ttl`); the sum of the counters of the window up to `at`."""
        bucket = int(at.timestamp()) // TRANSITION_BUCKET_SECONDS
        first = int((at - window).timestamp()) // TRANSITION_BUCKET_SECONDS + 1
        pk = f"FLAPS#{alarm}"
        self._call(
            self._table.update_item,
            Key={"pk": pk, "sk": f"{bucket:012d}"},
            UpdateExpression="ADD n :one SET #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":one": 1, ":ttl": int(at.timestamp()) + 86_400},
        )
        items = self._query(
            KeyConditionExpression=Key("pk").eq(pk)
            & Key("sk").between(f"{first:012d}", f"{bucket:012d}"),
            ConsistentRead=True,
        )
        return sum(int(item["n"]) for item in items)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """DynamoDB has no transaction across a batch of deliveries: each write stands alone."""
        yield


def _event(item: dict[str, Any]) -> EventRecord:
    return EventRecord(
        id=int(item["id"]),
        dedup_key=item["dedup_key"],
        status=item["status"],
        reason=item["reason"],
        incident_id=item.get("incident_id"),
        raw=json.loads(item["raw"]),
        received_at=item["received_at"],
        first=bool(item["first"]),
    )
