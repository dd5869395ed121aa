"""The actual cost of added capacity: only what the action added, for as long as it ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from healer.cases import load_case
from healer.sandbox import Sandbox
from tools.actual_cost import Ran, _activities, added_capacity_cost, group_runs
from tools.aws import AwsClients
from tools.pricing import TablePriceSource

SURGE = Path(__file__).resolve().parents[2] / "evals" / "cases" / "dev-traffic-surge-api.yaml"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
PRICES = TablePriceSource({"m5.xlarge": 0.192, "m5.large": 0.096})


def group(aws: AwsClients) -> frozenset[str]:
    found = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["api-asg"])
    return frozenset(i["InstanceId"] for i in found["AutoScalingGroups"][0]["Instances"])


def test_only_the_capacity_above_the_earlier_members_is_priced() -> None:
    with Sandbox(load_case(SURGE)) as sandbox:
        aws = AwsClients.from_factory(sandbox, sandbox.region)
        members = group(aws)
        started = datetime.now(UTC)
        aws.autoscaling.set_desired_capacity(
            AutoScalingGroupName="api-asg", DesiredCapacity=len(members) + 3
        )
        ran = group_runs(aws.ec2, aws.autoscaling, "api-asg", started, members)

    until = started + timedelta(hours=24)
    cost = added_capacity_cost(ran, members, 3, PRICES, started, until)
    assert len(ran) == len(members) + 3
    assert cost.instance_hours == pytest.approx(72, abs=0.01) and not cost.ended
    assert cost.usd == pytest.approx(3 * 0.192 * 24, abs=0.01)


def test_a_group_that_gave_capacity_back_costs_nothing_extra_whichever_instances_it_kept() -> None:
    """moto, like a group's default policy, terminates the oldest instances on a scale-in."""
    with Sandbox(load_case(SURGE)) as sandbox:
        aws = AwsClients.from_factory(sandbox, sandbox.region)
        members = group(aws)
        started = datetime.now(UTC)
        for desired in (len(members) + 3, len(members)):
            aws.autoscaling.set_desired_capacity(
                AutoScalingGroupName="api-asg", DesiredCapacity=desired
            )
        kept_new = group(aws) - members
        ran = group_runs(aws.ec2, aws.autoscaling, "api-asg", started, members)

    cost = added_capacity_cost(ran, members, 3, PRICES, started, started + timedelta(hours=24))
    assert kept_new  # the new instances are still there; old ones went
    assert cost.instance_hours < 0.1 and cost.usd is not None and cost.usd < 0.05 and cost.ended


def test_capacity_given_back_after_six_hours_costs_those_hours() -> None:
    old = [Ran(f"i-old{n}", "m5.xlarge", T0, None) for n in range(2)]
    added = [Ran(f"i-new{n}", "m5.xlarge", T0, T0 + timedelta(hours=6)) for n in range(2)]
    members = frozenset(r.instance_id for r in old)
    cost = added_capacity_cost(old + added, members, 2, PRICES, T0, T0 + timedelta(hours=24))

    assert cost.usd == round(2 * 6 * 0.192, 2) and cost.instance_hours == 12.0 and cost.ended
    assert cost.breakdown.endswith("12.00 added instance-hours × m5.xlarge × $0.192/h = $2.30")


def test_an_unpriced_type_makes_the_cost_unknown_and_says_which() -> None:
    ran = [Ran("i-1", "x9.huge", T0 + timedelta(seconds=1), None)]
    cost = added_capacity_cost(ran, frozenset(), 1, PRICES, T0, T0 + timedelta(hours=1))

    assert cost.usd is None and "(no price for x9.huge)" in cost.breakdown


class FakeActivities:
    """Auto Scaling's scaling activities, as its paginator returns them (moto keeps none)."""

    def __init__(self, activities: list[dict[str, Any]]) -> None:
        self.activities = activities

    def get_paginator(self, name: str) -> Any:
        assert name == "describe_scaling_activities"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [{"Activities": self.activities}]


def test_scaling_activities_give_launch_and_termination_times() -> None:
    fake = FakeActivities(
        [
            {"Description": "Launching a new EC2 instance: i-0abc", "StartTime": T0},
            {
                "Description": "Terminating EC2 instance: i-0abc",
                "StartTime": T0 + timedelta(hours=5),
                "EndTime": T0 + timedelta(hours=5, minutes=2),
            },
            {"Description": "Launching a new EC2 instance: i-0old", "StartTime": T0 - timedelta(1)},
        ]
    )

    found = _activities(fake, "api-asg", T0)

    assert found == {"i-0abc": (T0, T0 + timedelta(hours=5, minutes=2))}
