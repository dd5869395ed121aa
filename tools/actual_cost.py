"""What capacity an action added actually cost: instance-hours from what ran, priced the same
way as the estimate (DESIGN.md, Cost).

What a group ran comes from its scaling activities (launch and termination times) and from
EC2's own state (launch time, type, whether it still runs); where Auto Scaling keeps no activity
(it keeps six weeks; moto keeps none), EC2's state alone is used. The added cost is the group's
instance-hours above the capacity it had before the action, at most the added instances' hours:
a group may give back old instances and keep the new ones, and only the net capacity costs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from healer.errors import ToolUnavailable
from tools.pricing import PriceSource

ASG_NAME_TAG = "aws:autoscaling:groupName"
_LAUNCH = re.compile(r"Launching a new EC2 instance: (i-[0-9a-f]+)")
_TERMINATE = re.compile(r"Terminating EC2 instance: (i-[0-9a-f]+)")
LAUNCH_SLACK = timedelta(seconds=5)
"""Instances launched this long before the action's start still count as its own (clock skew)."""


class ActualCost(BaseModel):
    """The measured cost of added capacity over a period, with its arithmetic."""

    model_config = ConfigDict(frozen=True)

    usd: float | None
    instance_hours: float
    instances: int
    breakdown: str
    ended: bool
    """Every added instance has stopped running: the figure is final."""


@dataclass(frozen=True)
class Ran:
    instance_id: str
    instance_type: str | None
    start: datetime
    end: datetime | None


def group_runs(
    ec2: Any, autoscaling: Any, group: str, since: datetime, members: frozenset[str]
) -> list[Ran]:
    """When each instance of `group` ran from `since` on: its `members` at that moment and the
    instances it launched afterwards."""
    try:
        activity = _activities(autoscaling, group, since)
        ids = set(activity) | _group_instance_ids(ec2, autoscaling, group) | members
        described = _describe(ec2, sorted(ids))
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"actual cost: cannot read what {group} ran: {exc}") from exc
    ran = []
    for instance_id in sorted(ids):
        facts = described.get(instance_id, {})
        launched = activity.get(instance_id, (None, None))[0] or facts.get("LaunchTime") or since
        if instance_id not in members and launched < since - LAUNCH_SLACK:
            continue  # an instance of before the action that was not in the group
        end = activity.get(instance_id, (None, None))[1]
        if end is None and facts.get("State", {}).get("Name") not in (None, "pending", "running"):
            end = _state_change_time(facts) or since
        ran.append(Ran(instance_id, facts.get("InstanceType"), max(launched, since), end))
    return ran


def added_capacity_cost(
    ran: list[Ran],
    members: frozenset[str],
    added: int,
    prices: PriceSource,
    since: datetime,
    until: datetime,
) -> ActualCost:
    """What the capacity above the group's `members` cost from `since` to `until`: the group's
    instance-hours less those of the `members` it had before, at most the `added` instances'
    hours, at the hourly price of the instances launched since. Whichever instances the group
    kept or gave back, only the net capacity costs extra."""
    window = Decimal(max(0.0, (until - since).total_seconds())) / 3600
    spans = [
        Decimal(max(0.0, (min(r.end or until, until) - r.start).total_seconds())) / 3600
        for r in ran
    ]
    total = sum(spans, Decimal(0))
    extra = min(max(Decimal(0), total - len(members) * window), added * window)
    new = [r.instance_type for r in ran if r.instance_id not in members and r.instance_type]
    launched = new or [r.instance_type for r in ran if r.instance_type]
    kind = max(set(launched), key=launched.count) if launched else None
    price = prices.hourly_price(kind) if kind else None
    running = sum(r.end is None or r.end > until for r in ran)
    text = (
        f"the group ran {total:.2f} instance-hours in {window:.2f} h, "
        f"{len(members)} × {window:.2f} h "
        f"of them its earlier capacity: {extra:.2f} added instance-hours"
    )
    usd: float | None = 0.0 if extra == 0 else None
    if price is not None:
        usd = float(round(extra * Decimal(str(price)), 2))
        text += f" × {kind} × ${price}/h = ${usd:.2f}"
    elif extra:
        text += f" (no price for {kind or 'an unknown type'})"
    return ActualCost(
        usd=usd,
        instance_hours=round(float(extra), 3),
        instances=added,
        breakdown=text,
        ended=running <= len(members),
    )


def _activities(
    autoscaling: Any, group: str, since: datetime
) -> dict[str, tuple[datetime | None, datetime | None]]:
    """instance id → (launched, terminated) from the group's scaling activities since `since`."""
    found: dict[str, tuple[datetime | None, datetime | None]] = {}
    pages = autoscaling.get_paginator("describe_scaling_activities").paginate(
        AutoScalingGroupName=group
    )
    for page in pages:
        for activity in page.get("Activities", []):
            began = activity.get("StartTime")
            if began is None or began < since - LAUNCH_SLACK:
                continue
            text = str(activity.get("Description", ""))
            if match := _LAUNCH.search(text):
                found[match[1]] = (began, found.get(match[1], (None, None))[1])
            elif match := _TERMINATE.search(text):
                ended = activity.get("EndTime") or began
                found[match[1]] = (found.get(match[1], (None, None))[0], ended)
    return found


def _group_instance_ids(ec2: Any, autoscaling: Any, group: str) -> set[str]:
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    ids = {i["InstanceId"] for g in groups["AutoScalingGroups"] for i in g.get("Instances", [])}
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": f"tag:{ASG_NAME_TAG}", "Values": [group]}]
    )
    for page in pages:
        ids |= {i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]}
    return ids


def _describe(ec2: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """EC2's view of the instances it still knows (by filter: an id EC2 has forgotten, an
    hour after it terminated, is simply absent, where asking for it by id would fail)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-id", "Values": chunk}]
        )
        for page in pages:
            for reservation in page["Reservations"]:
                for instance in reservation["Instances"]:
                    found[instance["InstanceId"]] = instance
    return found


_TRANSITION = re.compile(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?:GMT|UTC)\)")


def _state_change_time(instance: dict[str, Any]) -> datetime | None:
    """When a stopped or terminated instance changed state, from EC2's transition reason."""
    match = _TRANSITION.search(str(instance.get("StateTransitionReason", "")))
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
