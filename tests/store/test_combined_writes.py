"""The workflow's combined writes, on SQLite and on DynamoDB: `accept_event` (first delivery,
incident, audit) and `consume_and_begin` (approval, intent, audit) happen whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from healer.domain import ActionId, Approval, ApprovalStatus, Incident
from healer.errors import ActionRejected, ConcurrentUpdate

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KEY = "arn:aws:cloudwatch:us-east-1:1:alarm:cpu@2025-03-01T12:00:00+00:00"


def incident(**changes: Any) -> Incident:
    fields: dict[str, Any] = {
        "id": "inc-1",
        "opened_at": T0,
        "account": "1",
        "region": "us-east-1",
        "alarms": ["cpu"],
        "resources": ["i-1"],
    }
    return Incident.model_validate(fields | changes)


def approval(status: ApprovalStatus = ApprovalStatus.APPROVED) -> Approval:
    return Approval(
        id="ap-1",
        incident_id="inc-1",
        plan_hash="h1",
        status=status,
        automatic=status is ApprovalStatus.APPROVED,
        requested_at=T0,
        expires_at=T0 + timedelta(minutes=30),
        decided_by="guardrail" if status is ApprovalStatus.APPROVED else None,
    )


@pytest.fixture
def store(contract_store: Any) -> Any:
    return contract_store


def test_an_accepted_event_records_saves_and_audits_at_once(store: Any) -> None:
    opened = incident()

    assert store.accept_event(KEY, "opened", {"n": 1}, opened, "incident_opened", {"a": 1})

    assert opened.version == 1 and store.get("inc-1").version == 1
    (event,) = store.list_events()
    assert (event.status, event.incident_id, event.first) == ("accepted", "inc-1", True)
    assert [e.kind for e in store.events("inc-1")] == ["incident_opened"]
    assert store.verify().ok


def test_a_second_delivery_is_a_duplicate_and_changes_no_incident(store: Any) -> None:
    store.accept_event(KEY, "opened", {"n": 1}, incident(), "incident_opened", {})
    again = incident(alarms=["cpu", "other"])

    assert not store.accept_event(KEY, "opened", {"n": 2}, again, "incident_opened", {})

    assert store.get("inc-1").alarms == ["cpu"]
    assert [e.status for e in store.list_events()] == ["duplicate", "accepted"]
    assert len(store.events("inc-1")) == 1


def test_a_stale_incident_is_refused_and_the_event_is_not_taken(store: Any) -> None:
    first = incident()
    store.accept_event(KEY, "opened", {}, first, "incident_opened", {})
    stale = incident()  # version 0: read before the first save

    with pytest.raises(ConcurrentUpdate):
        store.accept_event(f"{KEY}-2", "correlated", {}, stale, "alarm_correlated", {})

    assert not store.seen(f"{KEY}-2")  # the delivery can be taken again, after a re-read
    assert [e.kind for e in store.events("inc-1")] == ["incident_opened"]


def test_consume_and_begin_consumes_begins_and_audits_at_once(store: Any) -> None:
    store.create(approval())

    record = store.consume_and_begin(
        "ap-1", "inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", {"service": "nginx"}, T0, "x"
    )

    assert (record.status, record.attempts, record.target) == ("started", 1, "i-1")
    assert store.get_approval("ap-1").status is ApprovalStatus.CONSUMED
    kinds = [(e.kind, e.data.get("approval_id")) for e in store.events("inc-1")]
    assert kinds == [("approval_consumed", "ap-1"), ("action_started", None)]
    assert [a.target for a in store.past_actions("i-1", T0)] == ["i-1"]
    assert store.verify().ok


@pytest.mark.parametrize("status", [ApprovalStatus.PENDING, ApprovalStatus.REJECTED])
def test_an_approval_not_approved_begins_nothing(store: Any, status: ApprovalStatus) -> None:
    store.create(approval(status))

    with pytest.raises(ActionRejected, match="not APPROVED"):
        store.consume_and_begin("ap-1", "inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", {}, T0, "x")

    assert store.get_execution("inc-1", "h1") is None
    assert store.events("inc-1") == []


def test_an_approval_consumes_once(store: Any) -> None:
    store.create(approval())
    begin: Callable[[], Any] = lambda: store.consume_and_begin(  # noqa: E731
        "ap-1", "inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", {}, T0, "x"
    )
    begin()

    with pytest.raises(ActionRejected, match="CONSUMED"):
        begin()

    assert store.get_execution("inc-1", "h1").attempts == 1
    assert len(store.events("inc-1")) == 2
