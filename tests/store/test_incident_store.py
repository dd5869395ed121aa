from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from healer.domain import (
    ActionId,
    ActionProposal,
    Category,
    Diagnosis,
    Incident,
    Outcome,
    RemediationPlan,
    Step,
)
from healer.errors import ConcurrentUpdate
from healer.store import DynamoStore, SqliteStore

IncidentFactory = Callable[..., Incident]
Store = SqliteStore | DynamoStore


T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(contract_store: Store) -> Store:
    """Every test here is part of the store contract: it runs on SQLite and on DynamoDB."""
    return contract_store


def test_incident_round_trips_with_its_plan_and_step(
    store: Store, make_incident: IncidentFactory
) -> None:
    plan = RemediationPlan(
        diagnosis=Diagnosis(
            category=Category.DISK_FULL,
            summary="/var/log is full",
            resources=["i-0abc"],
            confidence=0.9,
        ),
        action=ActionProposal(action=ActionId.CLEAR_DISK_SPACE, target="i-0abc"),
    )
    incident = make_incident("inc-1", plan=plan, step=Step.GOVERN)

    store.save(incident)

    assert store.get("inc-1") == incident
    assert store.get("missing") is None


def test_save_is_an_upsert(store: Store, make_incident: IncidentFactory) -> None:
    store.save(make_incident("inc-1"))
    store.save(make_incident("inc-1", step=Step.VERIFY, resources=["asg-web"], version=1))

    assert store.get("inc-1") == make_incident(
        "inc-1", step=Step.VERIFY, resources=["asg-web"], version=2
    )
    assert len(store.list()) == 1
    assert store.find_open_for(["i-0abc"], T0) is None
    assert store.find_open_for(["asg-web"], T0) is not None


def test_a_stale_copy_cannot_overwrite_a_newer_save(
    store: Store, make_incident: IncidentFactory
) -> None:
    store.save(make_incident("inc-1"))
    first, second = store.get("inc-1"), store.get("inc-1")
    assert first is not None and second is not None
    first.step = Step.VERIFY
    store.save(first)
    second.step = Step.CLOSE

    with pytest.raises(ConcurrentUpdate, match="another writer"):
        store.save(second)
    assert store.get("inc-1") == first


def test_list_is_newest_first_and_limited(store: Store, make_incident: IncidentFactory) -> None:
    for n in range(5):
        store.save(make_incident(f"inc-{n}", opened_at=T0 + timedelta(minutes=n)))

    assert [i.id for i in store.list()] == ["inc-4", "inc-3", "inc-2", "inc-1", "inc-0"]
    assert [i.id for i in store.list(limit=2)] == ["inc-4", "inc-3"]


def test_list_orders_by_instant_across_time_zones(
    store: Store, make_incident: IncidentFactory
) -> None:
    from datetime import timezone

    plus_two = timezone(timedelta(hours=2))
    # 13:30+02:00 is 11:30 UTC: earlier than 12:00 UTC although its wall clock is later.
    store.save(make_incident("early", opened_at=T0.replace(hour=13, minute=30, tzinfo=plus_two)))
    store.save(make_incident("late", opened_at=T0))

    assert [i.id for i in store.list()] == ["late", "early"]


def test_find_open_for_matches_overlapping_resources_of_open_recent_incidents(
    store: Store, make_incident: IncidentFactory
) -> None:
    store.save(make_incident("old", opened_at=T0 - timedelta(hours=2), resources=["i-1"]))
    store.save(
        make_incident(
            "closed",
            opened_at=T0,
            resources=["i-1", "i-closed"],
            outcome=Outcome.RESOLVED,
            closed_at=T0 + timedelta(minutes=5),
            step=Step.DONE,
        )
    )
    store.save(make_incident("open", opened_at=T0 + timedelta(minutes=1), resources=["i-1", "i-2"]))
    since = T0 - timedelta(minutes=30)

    found = store.find_open_for(["i-9", "i-2"], since)

    assert found is not None and found.id == "open"
    assert store.find_open_for(["i-3"], since) is None
    assert store.find_open_for(["i-closed"], since) is None
    assert store.find_open_for([], since) is None
    # The old one overlaps but opened before the window.
    assert store.find_open_for(["i-1"], T0 + timedelta(minutes=2)) is None


def test_find_open_for_prefers_the_newest_match(
    store: Store, make_incident: IncidentFactory
) -> None:
    store.save(make_incident("a", opened_at=T0, resources=["i-1"]))
    store.save(make_incident("b", opened_at=T0 + timedelta(minutes=3), resources=["i-1"]))

    found = store.find_open_for(["i-1"], T0)

    assert found is not None and found.id == "b"


def test_latest_open_skips_closed_incidents(store: Store, make_incident: IncidentFactory) -> None:
    store.save(make_incident("a", opened_at=T0))
    store.save(make_incident("b", opened_at=T0 + timedelta(minutes=1), closed_at=T0))

    latest = store.latest_open(T0 - timedelta(minutes=10))

    assert latest is not None and latest.id == "a"
    assert store.latest_open(T0 + timedelta(minutes=1)) is None


def test_past_actions_come_from_the_execution_ledger(store: Store) -> None:
    store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", {}, at=T0)
    store.begin("inc-2", "h2", ActionId.CLEAR_DISK_SPACE, "i-1", {}, at=T0 + timedelta(minutes=20))
    store.complete("inc-2", "h2", "failed", {"error": "boom"}, at=T0 + timedelta(minutes=21))
    store.begin("inc-3", "h3", ActionId.RESTART_SERVICE, "i-2", {}, at=T0 + timedelta(minutes=30))

    past = store.past_actions("i-1", T0 - timedelta(hours=1))

    assert [(p.action, p.at) for p in past] == [
        (ActionId.RESTART_SERVICE, T0),
        (ActionId.CLEAR_DISK_SPACE, T0 + timedelta(minutes=20)),
    ]
    assert [p.action for p in store.past_actions("i-1", T0 + timedelta(minutes=10))] == [
        ActionId.CLEAR_DISK_SPACE
    ]


def test_naive_times_are_refused_with_the_field_named(
    store: Store, make_incident: IncidentFactory
) -> None:
    with pytest.raises(ValueError, match="opened_at"):
        store.save(make_incident("inc-1", opened_at=T0.replace(tzinfo=None)))
    with pytest.raises(ValueError, match="since"):
        store.latest_open(T0.replace(tzinfo=None))


def test_correlation_and_history_stay_within_a_world(
    store: Store, make_incident: IncidentFactory
) -> None:
    store.save(make_incident("a", opened_at=T0, resources=["i-1"], world="111/us-east-1"))
    store.save(make_incident("b", opened_at=T0, resources=["i-1"], world="222/us-east-1"))
    store.begin("a", "h1", ActionId.RESTART_SERVICE, "i-1", {}, at=T0)

    found = store.find_open_for(["i-1"], T0 - timedelta(minutes=1), "111/us-east-1")
    latest = store.latest_open(T0 - timedelta(minutes=1), "222/us-east-1")

    assert found is not None and found.id == "a"
    assert latest is not None and latest.id == "b"
    assert store.find_open_for(["i-1"], T0 - timedelta(minutes=1), "333/eu-west-1") is None
    assert len(store.past_actions("i-1", T0 - timedelta(hours=1), "111/us-east-1")) == 1
    assert store.past_actions("i-1", T0 - timedelta(hours=1), "222/us-east-1") == []


def test_a_resource_the_incident_no_longer_has_does_not_find_it(
    store: Store, make_incident: IncidentFactory
) -> None:
    incident = make_incident("a", opened_at=T0, resources=["i-1", "i-2"])
    store.save(incident)
    store.save(incident.model_copy(update={"resources": ["i-2", "i-3"]}))

    since = T0 - timedelta(minutes=1)
    assert store.find_open_for(["i-1"], since) is None
    assert [store.find_open_for([r], since) is not None for r in ("i-2", "i-3")] == [True, True]


def test_an_incident_past_a_hundred_resources_still_saves_and_closes(
    store: Store, make_incident: IncidentFactory
) -> None:
    """A DynamoDB transaction holds at most 100 items: a save must not grow with the incident."""
    incident = make_incident("big", opened_at=T0, resources=[f"i-{n}" for n in range(150)])
    store.save(incident)
    for n in range(150, 156, 3):  # correlated alarms add a few resources at a time
        incident.resources += [f"i-{n}", f"i-{n + 1}", f"i-{n + 2}"]
        store.save(incident)
    since = T0 - timedelta(minutes=1)
    assert all(store.find_open_for([f"i-{n}"], since) is not None for n in (0, 149, 155))

    incident.step, incident.closed_at = Step.DONE, T0 + timedelta(minutes=9)
    store.save(incident)

    assert store.find_open_for(["i-0"], since) is None
    assert store.get("big") == incident


def test_list_open_has_every_open_incident_newest_first_however_old(
    store: Store, make_incident: IncidentFactory
) -> None:
    store.save(make_incident("ancient", opened_at=T0 - timedelta(days=30)))
    for n in range(5):
        store.save(make_incident(f"done-{n}", opened_at=T0 + timedelta(minutes=n), closed_at=T0))
    waiting = make_incident("waiting", opened_at=T0 + timedelta(hours=1))
    store.save(waiting)

    assert [i.id for i in store.list_open()] == ["waiting", "ancient"]

    waiting.step, waiting.closed_at = Step.DONE, T0 + timedelta(hours=2)
    store.save(waiting)

    assert [i.id for i in store.list_open()] == ["ancient"]
