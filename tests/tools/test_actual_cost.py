"""The actual cost of added capacity: only what the action added, for as long as it ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from healer.cases import load_case
from healer.sandbox import Sandbox
from tools.actual_cost import Ran, _activities, actual_cost, added_instances
from tools.aws import AwsClients
from tools.pricing import TablePriceSource

SURGE = Path(__file__).resolve().parents[2] / "evals" / "cases" / "dev-traffic-surge-api.yaml"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
PRICES = TablePriceSource({"m5.xlarge": 0.192, "m5.large": 0.096})


def test_only_instances_launched_by_the_action_are_priced_not_those_already_running() -> None:
    with Sandbox(load_case(SURGE)) as sandbox:
        aws = AwsClients.from_factory(sandbox, sandbox.region)
        group = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["api-asg"])
        members = frozenset(i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"])
        started = datetime.now(UTC)
        aws.autoscaling.set_desired_capacity(
            AutoScalingGroupName="api-asg", DesiredCapacity=len(members) + 3
        )

        ran = added_instances(aws.ec2, aws.autoscaling, "api-asg", started, members)
        counted_all = added_instances(aws.ec2, aws.autoscaling, "api-asg", started)

    assert len(ran) == 3 and not {r.instance_id for r in ran} & members
    assert len(counted_all) > 3  # seeded seconds earlier, the members look launched by it too
    cost = actual_cost(ran, PRICES, started + timedelta(hours=24))
    assert cost.instances == 3 and not cost.ended
    assert cost.usd is not None and abs(cost.usd - 3 * 0.192 * 24) < 0.05


def test_instances_scaled_in_early_cost_only_their_hours_and_the_figure_is_final() -> None:
    ran = [
        Ran("i-1", "m5.xlarge", T0, T0 + timedelta(hours=6)),
        Ran("i-2", "m5.xlarge", T0, T0 + timedelta(hours=6)),
    ]
    cost = actual_cost(ran, PRICES, T0 + timedelta(hours=24))

    assert cost.usd == round(2 * 6 * 0.192, 2) and cost.instance_hours == 12.0 and cost.ended
    assert cost.breakdown == "2 × m5.xlarge: 12.00 instance-hours × $0.192/h = $2.30"


def test_an_unpriced_type_makes_the_cost_unknown_and_says_which() -> None:
    ran = [Ran("i-1", "x9.huge", T0, None), Ran("i-2", "m5.large", T0, None)]
    cost = actual_cost(ran, PRICES, T0 + timedelta(hours=1))

    assert cost.usd is None and "x9.huge: 1.00 instance-hours (no price)" in cost.breakdown


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
