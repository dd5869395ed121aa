"""Alarm storm: 10,000 deliveries over 500 alarms through the real ingest, into a store.

Run: `.venv/bin/python -m evals.bench_storm [--store sqlite|dynamodb] [--json]`.

The storm: 100 problems of 5 alarms, the alarms of a problem on one Auto Scaling group. 90
problems are real (their alarms are in ALARM now); 10 went back to OK before their events
arrived (stale). Some alarms flap (ALARM/OK again and again). Every state change is delivered
5 times, and all deliveries are shuffled (out of order). CloudWatch is a stand-in that answers
DescribeAlarms from the final states (the only AWS call ingest makes for these alarms).

Checked, not just timed: exactly one incident per real problem, and every delivery is in the
event ledger with its fate (nothing lost). Exit 1 when either fails.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from healer.intake import Delivery, deliver
from healer.store import DynamoStore, LocalDigestDirectory, SqliteStore, StaticAuditKey
from healer.workflow.noise import NoiseRules
from healer.workflow.services import Services
from tools.aws import AwsClients

ACCOUNT, REGION = "123456789012", "us-east-1"
PROBLEMS, ALARMS_PER_PROBLEM, STALE_PROBLEMS, COPIES, EVENTS = 100, 5, 10, 5, 10_000
METRICS = ("CPUUtilization", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "RequestCount")


@dataclass
class Storm:
    deliveries: list[dict[str, Any]]
    states: dict[str, str]
    real_problems: int


def build_storm(seed: int = 7, scale: int = 1) -> Storm:
    """The storm's deliveries, the alarms' current states and how many problems are real;
    `scale` 10 is a tenth of it (1,000 deliveries over 50 alarms)."""
    rng = random.Random(seed)
    problems, stale_problems, events = PROBLEMS // scale, STALE_PROBLEMS // scale, EVENTS // scale
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    transitions: dict[str, list[str]] = {}
    groups: dict[str, str] = {}
    for problem in range(problems):
        stale = problem < stale_problems
        for index in range(ALARMS_PER_PROBLEM):
            name = f"svc{problem:03d}-alarm{index}"
            groups[name] = f"asg-svc{problem:03d}"
            transitions[name] = ["ALARM", "OK"] if stale else ["ALARM"]
    flappers = [name for name in transitions if transitions[name] == ["ALARM"]]
    while sum(map(len, transitions.values())) < events // COPIES:
        transitions[rng.choice(flappers[::3])] += ["OK", "ALARM"]  # a third of them flap
    unique = []
    for name, states in transitions.items():
        for number, state in enumerate(states):
            at = start + timedelta(seconds=20 * number + rng.randrange(10))
            unique.append(_event(name, groups[name], state, at))
    deliveries = [event for event in unique for _ in range(COPIES)]
    rng.shuffle(deliveries)
    final = {name: states[-1] for name, states in transitions.items()}
    return Storm(deliveries, final, problems - stale_problems)


def _event(name: str, group: str, state: str, at: datetime) -> dict[str, Any]:
    arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
    metric = METRICS[hash(name) % len(METRICS)]
    return {
        "version": "0",
        "id": f"{name}-{stamp}",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [arn],
        "detail": {
            "alarmName": name,
            "configuration": {
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "dimensions": {"AutoScalingGroupName": group},
                                "name": metric,
                                "namespace": "AWS/EC2",
                            },
                            "period": 60,
                            "stat": "Average",
                        },
                        "returnData": True,
                    }
                ]
            },
            "previousState": {"value": "OK" if state == "ALARM" else "ALARM", "timestamp": stamp},
            "state": {"value": state, "reason": f"Threshold Crossed ({state})", "timestamp": stamp},
        },
    }


class StandInCloudWatch:
    """DescribeAlarms answered from the storm's final states, counting calls."""

    def __init__(self, states: dict[str, str]) -> None:
        self.states = states
        self.calls = 0

    def describe_alarms(self, AlarmNames: list[str]) -> dict[str, Any]:
        self.calls += 1
        assert len(AlarmNames) <= 100, "DescribeAlarms takes at most 100 names"
        return {
            "MetricAlarms": [
                {"AlarmName": name, "StateValue": self.states[name]}
                for name in AlarmNames
                if name in self.states
            ],
            "CompositeAlarms": [],
        }


def intake_services(store: SqliteStore | DynamoStore, cloudwatch: StandInCloudWatch) -> Services:
    """Services as ingest uses them: the store, CloudWatch, the clock and the noise rules;
    nothing else is touched before an incident runs."""
    unused = cast(Any, None)
    return Services(
        store=store,
        aws=AwsClients(
            cloudwatch=cloudwatch, logs=None, ec2=None, autoscaling=None, ssm=None, region=REGION
        ),
        catalog=unused,
        retriever=unused,
        runbooks={},
        prices=unused,
        automation=unused,
        model_factory=unused,
        policy=unused,
        approvers=[],
        channel=unused,
        noise=NoiseRules(),
        correlation_window_seconds=3600,
    )


def run(store_kind: str, batch_size: int, scale: int = 1) -> dict[str, Any]:
    storm = build_storm(scale=scale)
    cloudwatch = StandInCloudWatch(storm.states)
    with tempfile.TemporaryDirectory() as folder, _store(store_kind, Path(folder)) as store:
        services = intake_services(store, cloudwatch)
        batches = [
            [
                Delivery(raw, f"storm#{n}")
                for n, raw in enumerate(storm.deliveries[i : i + batch_size], i)
            ]
            for i in range(0, len(storm.deliveries), batch_size)
        ]
        started = time.perf_counter()
        statuses: Counter[str] = Counter()
        for batch in batches:
            deliver(services, batch, on_ingest=lambda outcome: statuses.update([outcome.status]))
        seconds = time.perf_counter() - started
        incidents = store.list(-1)
        ledger = _ledger_size(store)
    return {
        "store": store_kind,
        "deliveries": len(storm.deliveries),
        "batch": batch_size,
        "seconds": round(seconds, 3),
        "events_per_second": round(len(storm.deliveries) / seconds),
        "statuses": dict(sorted(statuses.items())),
        "incidents": len(incidents),
        "real_problems": storm.real_problems,
        "ledger_rows": ledger,
        "describe_alarms_calls": cloudwatch.calls,
        "ok": len(incidents) == storm.real_problems and ledger == len(storm.deliveries),
    }


@contextmanager
def _store(kind: str, folder: Path) -> Iterator[SqliteStore | DynamoStore]:
    """A fresh SQLite file with its digest folder, or a DynamoDB table on moto (in process)."""
    key = StaticAuditKey(b"k" * 32, "bench")
    if kind == "sqlite":
        with SqliteStore(
            folder / "storm.db", audit_key=key, digests=LocalDigestDirectory(folder / "digests")
        ) as store:
            yield store
        return
    import boto3
    from moto import mock_aws

    from healer.store.dynamodb import table_definition

    with mock_aws():
        resource = boto3.resource("dynamodb", region_name=REGION)
        resource.meta.client.create_table(**table_definition("healer-storm"))
        yield DynamoStore(resource, "healer-storm", audit_key=key)


def _ledger_size(store: SqliteStore | DynamoStore) -> int:
    return len(store.list_events(1_000_000))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "dynamodb"), default="sqlite")
    parser.add_argument("--batch", type=int, default=10, help="deliveries per batch (SQS: 10)")
    parser.add_argument("--scale", type=int, default=1, help="10: a tenth of the storm")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.store, args.batch, args.scale)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"storm on {result['store']}: {result['deliveries']} deliveries in "
            f"{result['seconds']} s = {result['events_per_second']} events/s "
            f"(batches of {result['batch']}); {result['incidents']} incidents for "
            f"{result['real_problems']} real problems; ledger {result['ledger_rows']} rows; "
            f"{result['describe_alarms_calls']} DescribeAlarms calls; {result['statuses']}"
        )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
