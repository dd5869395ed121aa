"""A conditional write whose reply is lost: DynamoDB applied it, botocore sends it again, and
the retry fails its condition on its own earlier success. The store must not read that as
another writer's."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from healer.domain import ActionId, Approval, ApprovalStatus
from healer.store.dynamodb import DynamoStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body

    def read(self, *_: Any) -> bytes:
        return self.body


Lossy = Callable[[], tuple[DynamoStore, Callable[[str], None]]]


@pytest.fixture
def lossy(new_dynamodb_table: Callable[[str], tuple[Any, str]]) -> Lossy:
    """A fresh store, and `lose(operation)`: its next call of `operation` is applied but
    answered with a 500."""

    def make() -> tuple[DynamoStore, Callable[[str], None]]:
        resource, name = new_dynamodb_table("lossy")
        armed: dict[str, str | None] = {"operation": None}

        def lose_the_reply(request: Any, **_: Any) -> AWSResponse | None:
            target, operation = request.headers.get("X-Amz-Target", b""), armed["operation"]
            if operation is None or not target.endswith(operation.encode()):
                return None
            armed["operation"] = None
            sent = urllib.request.Request(
                request.url, data=request.body, headers=dict(request.headers), method="POST"
            )
            urllib.request.urlopen(sent).read()  # the write really happens...
            body = b'{"__type":"InternalServerError","message":"reply lost"}'
            return AWSResponse(request.url, 500, {}, _Body(body))  # ...its reply does not

        resource.meta.client.meta.events.register_first("before-send.dynamodb", lose_the_reply)
        return DynamoStore(resource, name), lambda operation: armed.update(operation=operation)

    return make


def test_a_first_delivery_stays_first(lossy: Lossy) -> None:
    store, lose = lossy()
    store._next_id("events")  # the counter exists: the next PutItem is the delivery's
    lose("PutItem")
    assert store.record("alarm@t0", "accepted", "", "inc-1", {}) is True
    assert [(e.status, e.first) for e in store.list_events()] == [("accepted", True)]


def test_a_consumed_approval_is_the_callers(lossy: Lossy) -> None:
    store, lose = lossy()
    approved = ApprovalStatus.APPROVED
    store.create(
        Approval(
            id="ap-1",
            incident_id="inc-1",
            plan_hash="a" * 64,
            status=approved,
            automatic=True,
            requested_at=T0,
            expires_at=T0 + timedelta(minutes=30),
        )
    )
    lose("UpdateItem")
    consumed = store.transition("ap-1", approved, ApprovalStatus.CONSUMED, "executor", T0)
    assert consumed.status is ApprovalStatus.CONSUMED


def test_a_first_begin_is_one_attempt(lossy: Lossy) -> None:
    store, lose = lossy()
    lose("TransactWriteItems")
    record = store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", {}, at=T0)
    assert record.attempts == 1


def test_an_audit_append_is_one_event(lossy: Lossy) -> None:
    store, lose = lossy()
    lose("TransactWriteItems")
    store.append("inc-1", "incident_opened", "system", {})
    store.append("inc-1", "diagnosed", "system", {})
    assert [(e.gseq, e.seq) for e in store.events("inc-1")] == [(1, 1), (2, 2)]
    assert store.verify().ok
