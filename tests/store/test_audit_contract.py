"""The audit log's contract, on SQLite and on DynamoDB: one keyed chain through every
incident, each incident numbered on its own, bad appends refused without a trace."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from healer.domain import ActionId, Risk
from healer.store import GENESIS_HASH, AuditLog

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

KINDS = ["incident_opened", "diagnosed", "cost_estimated", "governance_decided", "closed"]


@pytest.fixture
def store(contract_store: AuditLog) -> AuditLog:
    """Every test here is part of the store contract: it runs on SQLite and on DynamoDB."""
    return contract_store


def append_five(store: AuditLog, incident_id: str = "inc-1") -> None:
    for n, kind in enumerate(KINDS):
        store.append(incident_id, kind, "system", {"n": n}, at=T0 + timedelta(seconds=n))


def test_five_appends_form_a_chain_that_verifies(store: AuditLog) -> None:
    append_five(store)

    events = store.events("inc-1")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.kind for e in events] == KINDS
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    report = store.verify()
    assert (report.ok, report.incidents_checked, report.events_checked) == (True, 1, 5)
    assert report.problems == []


def test_events_read_back_hash_the_same_as_appended(store: AuditLog) -> None:
    appended = store.append(
        "inc-1",
        "governance_decided",
        "agent:supervisor",
        {
            "decision": "needs_approval",
            "risk": Risk.HIGH,
            "action": ActionId.SCALE_OUT,
            "expires_at": T0 + timedelta(minutes=30),
            "reasons": ("cost $46.08 above $20.00",),
            "cost": 46.08,
            "nested": {"b": [1, 2.5, None, True], "a": "ü"},
        },
    )

    (stored,) = store.events("inc-1")

    assert stored == appended
    assert stored.data["risk"] == "high"
    assert stored.data["expires_at"] == "2025-03-01T12:30:00+00:00"
    assert store.verify("inc-1").ok


def test_one_chain_runs_through_every_incident_each_numbered_on_its_own(
    store: AuditLog,
) -> None:
    first = store.append("inc-b", "incident_opened", "system", {})
    other = store.append("inc-a", "incident_opened", "system", {})
    second = store.append("inc-b", "diagnosed", "agent:diagnostician", {})

    assert [(e.gseq, e.seq) for e in (first, other, second)] == [(1, 1), (2, 1), (3, 2)]
    assert (other.prev_hash, second.prev_hash) == (first.hash, other.hash)
    assert store.events("inc-a") == [other]
    assert store.incident_ids() == ["inc-b", "inc-a"]
    assert store.verify().incidents_checked == 2
    assert store.verify("inc-a").events_checked == 1


def test_append_uses_the_clock_in_utc(store: AuditLog) -> None:
    event = store.append("inc-1", "incident_opened", "system", {})

    assert event.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("kind", "actor", "data", "match"),
    [
        ("made_up", "system", {}, "kind"),
        ("closed", "", {}, "actor"),
        ("closed", "system", {"at": T0.replace(tzinfo=None)}, "naive"),
        ("closed", "system", {"x": object()}, "not JSON-serialisable"),
        ("closed", "system", {"x": float("nan")}, "Out of range"),
    ],
)
def test_bad_appends_are_refused_and_leave_no_trace(
    store: AuditLog, kind: str, actor: str, data: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        store.append("inc-1", kind, actor, data)
    assert store.events("inc-1") == []


def test_events_of_an_indexed_kind_are_listed_across_incidents_in_log_order(
    store: AuditLog,
) -> None:
    store.append("inc-a", "trust_outcome", "system:close", {"n": 1}, at=T0)
    store.append("inc-b", "closed", "system:close", {}, at=T0)
    store.append("inc-b", "trust_outcome", "system:close", {"n": 2}, at=T0)
    store.append("inc-a", "trust_outcome", "human:U1", {"n": 3}, at=T0)

    listed = store.events_of_kind("trust_outcome")

    assert [(e.incident_id, e.data["n"]) for e in listed] == [
        ("inc-a", 1),
        ("inc-b", 2),
        ("inc-a", 3),
    ]
    assert store.events_of_kind("cost_checked") == []
    with pytest.raises(ValueError, match="not indexed"):
        store.events_of_kind("closed")
