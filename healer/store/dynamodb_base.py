"""`DynamoBase`: the store's single DynamoDB table, its keys and its atomic counters.

One table holds every record kind, keyed `pk`/`sk`, with one global secondary index
(`gsi1pk`/`gsi1sk`) for the listings the store needs in order (the newest deliveries, an
incident's approvals). Guarantees come from conditional writes and transactions, never from
reading first: two Lambda containers may race on any call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.errors import ToolUnavailable
from healer.store.canonical import sortable
from healer.store.sqlite_base import utc_now

GSI1 = "gsi1"
ID_WIDTH = 20  # zero-padded counter values sort as text in the index
RACE_REASONS = ("ConditionalCheckFailed", "TransactionConflict")


def table_definition(name: str) -> dict[str, Any]:
    """`CreateTable` arguments for the store's table (Terraform declares the same)."""
    keys = ("pk", "sk", "gsi1pk", "gsi1sk")
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in keys],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GSI1,
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def new_token() -> str:
    """A fresh token for one conditional write (see `DynamoBase._landed`)."""
    return uuid.uuid4().hex


def _is_condition_failure(exc: ClientError) -> bool:
    """A write's condition did not hold, or a transaction lost a race with another writer."""
    error = exc.response["Error"]
    if error["Code"] == "ConditionalCheckFailedException":
        return True
    reasons = exc.response.get("CancellationReasons") or []
    return error["Code"] == "TransactionCanceledException" and (
        any(r.get("Code") in RACE_REASONS for r in reasons)
        or any(reason in str(error.get("Message")) for reason in RACE_REASONS)
    )


class DynamoBase:
    """The store's table, reached through a boto3 DynamoDB resource.

    Args:
        resource: `boto3.resource("dynamodb", ...)`, built once per container.
        table_name: The store's table (created by Terraform, or `table_definition`).
        clock: Returns the current aware time; injected by tests.
    """

    def __init__(
        self, resource: Any, table_name: str, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._table = resource.Table(table_name)
        self._clock = clock

    def _now(self) -> str:
        return sortable(self._clock(), "now")

    def _next_id(self, counter: str) -> int:
        """The next value of a named counter (atomic `ADD`; a crash leaves a gap, never a
        repeat)."""
        item = self._call(
            self._table.update_item,
            Key={"pk": f"COUNTER#{counter}", "sk": "COUNTER"},
            UpdateExpression="ADD #v :one",
            ExpressionAttributeNames={"#v": "value"},
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(item["Attributes"]["value"])

    def _landed(self, pk: str, sk: str, token: str) -> dict[str, Any] | None:
        """The item if it carries `token`: a conditional write whose reply was lost and that
        botocore retried fails its condition on its own earlier success; this tells the two
        apart."""
        item = self._get(pk, sk)
        return item if item is not None and item.get("token") == token else None

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self._call(self._table.get_item, Key={"pk": pk, "sk": sk}, ConsistentRead=True)
        item: dict[str, Any] | None = found.get("Item")
        return item

    def _query(self, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item a query returns, page after page, up to `limit` items."""
        items: list[dict[str, Any]] = []
        while True:
            page = self._call(self._table.query, **kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page or (limit is not None and len(items) >= limit):
                return items[:limit]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _conditional(self, operation: Callable[..., Any], **kwargs: Any) -> Any | None:
        """One conditional write: its response, or None when its condition did not hold (or
        its transaction lost a race); any other failure is ToolUnavailable."""
        try:
            return operation(**kwargs)
        except ClientError as exc:
            if _is_condition_failure(exc):
                return None
            raise ToolUnavailable(f"DynamoDB {self._table.name}: {exc}") from exc
        except BotoCoreError as exc:
            raise ToolUnavailable(f"DynamoDB {self._table.name}: {exc}") from exc

    def _call(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        """One DynamoDB call; any failure is ToolUnavailable."""
        response = self._conditional(operation, **kwargs)
        if response is None:  # only conditional writes can fail a condition
            raise ToolUnavailable(f"DynamoDB {self._table.name}: a condition failed")
        return response
