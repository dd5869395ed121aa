"""Noise control at ingest: flapping, suppression rules, maintenance windows, correlation by
load balancer, and the storm: every delivery accounted for, one incident per real problem."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evals.bench_storm import StandInCloudWatch, _event, build_storm, intake_services
from healer.intake import Delivery, deliver
from healer.store import LocalDigestDirectory, SqliteStore, StaticAuditKey
from healer.workflow.ingest import ingest
from healer.workflow.noise import MaintenanceWindow, NoiseRules

START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(
        tmp_path / "healer.db",
        audit_key=StaticAuditKey(b"k" * 32, "test"),
        digests=LocalDigestDirectory(tmp_path / "digests"),
        digest_every=5,
    )


def flaps(name: str, count: int) -> list[dict[str, object]]:
    states = ["ALARM" if n % 2 == 0 else "OK" for n in range(count)]
    return [
        _event(name, "asg-web", s, START + timedelta(seconds=30 * n)) for n, s in enumerate(states)
    ]


def test_a_flapping_alarm_opens_one_incident_and_its_later_flaps_are_suppressed(
    store: SqliteStore,
) -> None:
    services = intake_services(store, StandInCloudWatch({"web-cpu": "ALARM"}))
    services.noise = NoiseRules(flap_transitions=4, flap_window=timedelta(hours=1))

    results = [ingest(services, raw) for raw in flaps("web-cpu", 9)]

    alarms = [r for r, raw in zip(results, flaps("web-cpu", 9), strict=True)]
    statuses = [r.status for r in alarms]
    assert statuses.count("opened") == 1 and len(store.list(-1)) == 1
    flapping = [r for r in results if r.reason.startswith("flapping: web-cpu changed state")]
    assert [r.status for r in flapping] == ["suppressed"] * 3  # the ALARMs from the 4th change on
    assert all(e.status != "duplicate" for e in store.list_events(100))


def test_suppression_rules_and_maintenance_windows_record_why(store: SqliteStore) -> None:
    services = intake_services(
        store, StandInCloudWatch({"canary-cpu": "ALARM", "web-cpu": "ALARM", "db-cpu": "ALARM"})
    )
    window = MaintenanceWindow(
        name="patching", start=START, end=START + timedelta(hours=1), match=("asg-web",)
    )
    services.noise = NoiseRules(suppress=("canary-*",), maintenance=(window,))

    canary = ingest(services, _event("canary-cpu", "asg-canary", "ALARM", START))
    patched = ingest(services, _event("web-cpu", "asg-web", "ALARM", START + timedelta(minutes=5)))
    after = ingest(services, _event("web-cpu", "asg-web", "ALARM", START + timedelta(hours=2)))

    assert (canary.status, canary.reason) == (
        "suppressed",
        "suppressed by rule 'canary-*' (canary-cpu)",
    )
    assert patched.status == "suppressed"
    assert patched.reason.startswith("maintenance window patching until 2026-12-01T04:00")
    assert after.status == "opened"
    audited = [e.data["reason"] for e in store.events("ingest") if e.kind == "alarm_suppressed"]
    assert audited == [canary.reason, patched.reason]


def test_a_maintenance_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="end is not after start"):
        MaintenanceWindow(name="w", start=START, end=START, match=("*",))


def test_alarms_on_one_load_balancer_correlate_into_one_incident(store: SqliteStore) -> None:
    services = intake_services(store, StandInCloudWatch({"lb-5xx": "ALARM", "lb-latency": "ALARM"}))
    events = []
    for name in ("lb-5xx", "lb-latency"):
        event = _event(name, "unused", "ALARM", START)
        metric = event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]  # type: ignore[index]
        metric["dimensions"] = {"LoadBalancer": "app/web/50dc6c495c0c9188"}
        events.append(event)

    results = [ingest(services, raw) for raw in events]

    assert [r.status for r in results] == ["opened", "correlated"]


def test_the_storm_accounts_for_every_delivery_and_opens_one_incident_per_real_problem(
    store: SqliteStore,
) -> None:
    storm = build_storm(seed=11)
    services = intake_services(store, StandInCloudWatch(storm.states))
    statuses: Counter[str] = Counter()
    for start in range(0, len(storm.deliveries), 10):
        batch = [
            Delivery(raw, str(n)) for n, raw in enumerate(storm.deliveries[start : start + 10])
        ]
        deliver(services, batch, on_ingest=lambda r: statuses.update([r.status]))

    assert len(store.list(-1)) == storm.real_problems
    assert sum(statuses.values()) == len(storm.deliveries) == len(store.list_events(100_000))
    assert statuses["duplicate"] == len(storm.deliveries) * 4 // 5
    assert store.verify().ok


def test_a_batch_that_fails_midway_lands_nothing_and_leaves_no_digest(
    store: SqliteStore, tmp_path: Path
) -> None:
    services = intake_services(store, StandInCloudWatch({}))
    ingest(services, "first")  # audited: the first event writes a digest
    digests = sorted((tmp_path / "digests").iterdir())
    bad = [Delivery(f"not json {n}", str(n)) for n in range(12)]  # 12 audited rejections

    class Boom(Exception):
        pass

    def explode_at_the_end(raw: object) -> None:
        if raw == "not json 11":
            raise Boom

    with pytest.raises(Boom):
        deliver(services, bad, before=explode_at_the_end)

    assert len(store.list_events(100)) == 1
    assert sorted((tmp_path / "digests").iterdir()) == digests
    deliver(services, bad)
    assert len(store.list_events(100)) == 13 and store.verify().ok
