from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from healer.store import EventLedger, raw_dedup_key


@pytest.fixture
def store(contract_store: EventLedger) -> EventLedger:
    """Every test here is part of the store contract: it runs on SQLite and on DynamoDB."""
    return contract_store


KEY = "arn:aws:cloudwatch:us-east-1:1:alarm:cpu@2025-03-01T12:00:00+00:00"
RAW = {"source": "aws.cloudwatch", "detail": {"state": {"value": "ALARM"}}}


def test_second_delivery_of_a_key_is_a_duplicate_and_still_recorded(store: EventLedger) -> None:
    assert not store.seen(KEY)

    assert store.record(KEY, "accepted", "new incident", "inc-1", RAW) is True
    assert store.record(KEY, "accepted", "", "inc-1", RAW) is False

    assert store.seen(KEY)
    newest, first = store.list_events()
    assert (first.status, first.first, first.incident_id) == ("accepted", True, "inc-1")
    assert (newest.status, newest.first) == ("duplicate", False)
    assert "duplicate" in newest.reason
    assert newest.raw == RAW


def test_rejected_event_is_recorded_with_its_reason(store: EventLedger) -> None:
    store.record(KEY, "rejected", "state is OK, not ALARM", None, RAW)

    (event,) = store.list_events()
    assert (event.status, event.reason, event.dedup_key) == (
        "rejected",
        "state is OK, not ALARM",
        KEY,
    )


def test_malformed_event_without_key_is_kept_under_its_body_hash(store: EventLedger) -> None:
    body = {"garbage": [1, 2, float("nan")]}

    assert store.record(None, "rejected", "detail: missing", None, body) is True
    assert store.record("", "rejected", "detail: missing", None, body) is False
    assert store.record(None, "rejected", "detail: missing", None, {"other": 1}) is True

    events = store.list_events()
    assert len(events) == 3
    assert events[-1].dedup_key == raw_dedup_key(body)
    assert store.seen(raw_dedup_key(body))


def test_suppressed_status_and_listing_limit(store: EventLedger) -> None:
    for n in range(4):
        store.record(f"k{n}", "suppressed", "maintenance window", None, {"n": n})

    assert [e.dedup_key for e in store.list_events(limit=2)] == ["k3", "k2"]


def test_unknown_status_is_refused(store: EventLedger) -> None:
    with pytest.raises(ValueError, match="status"):
        store.record(KEY, "ignored", "", None, RAW)  # type: ignore[arg-type]
    assert not store.seen(KEY)


def test_a_listing_limit_of_zero_lists_nothing(store: EventLedger) -> None:
    store.record(KEY, "accepted", "", "inc-1", RAW)
    assert store.list_events(limit=0) == []
    assert len(store.list_events(limit=1)) == 1


def test_the_first_delivery_of_a_key_is_found_by_it(store: EventLedger) -> None:
    assert store.first_delivery(KEY) is None
    store.record(KEY, "accepted", "opened", "inc-1", RAW)
    store.record(KEY, "accepted", "", None, RAW)

    first = store.first_delivery(KEY)

    assert first is not None and (first.status, first.incident_id) == ("accepted", "inc-1")


def test_state_changes_are_counted_within_their_window(contract_store: Any) -> None:
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    window = timedelta(minutes=10)
    counts = [
        contract_store.note_transition("arn:alarm:web", start + timedelta(minutes=m), window)
        for m in (0, 2, 4, 30, 31)
    ]
    other = contract_store.note_transition("arn:alarm:db", start, window)

    assert counts == [1, 2, 3, 1, 2] and other == 1
