"""What capacity an action added actually cost: instance-hours from what ran, priced the same
way as the estimate (DESIGN.md, Cost).

The instances an Auto Scaling group launched after the action began come from its scaling
activities (launch and termination times) and from EC2's own state (launch time, type, and
whether it still runs); where Auto Scaling keeps no activity (it keeps six weeks; moto keeps
none), EC2's state alone is used. An instance that is gone without a known end is counted up to the
check, and the figure is not final.
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


def added_instances(
    ec2: Any, autoscaling: Any, group: str, since: datetime, before: frozenset[str] = frozenset()
) -> list[Ran]:
    """The instances `group` launched at or after `since`, and not among its members `before`
    the action, with when each ran."""
    try:
        activity = _activities(autoscaling, group, since)
        ids = set(activity) | _group_instance_ids(ec2, autoscaling, group)
        described = _describe(ec2, sorted(ids)) if ids else {}
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"actual cost: cannot read what {group} ran: {exc}") from exc
    ran = []
    for instance_id in sorted(ids - before):
        facts = described.get(instance_id, {})
        launched = activity.get(instance_id, (None, None))[0] or facts.get("LaunchTime")
        if launched is None or launched < since - LAUNCH_SLACK:
            continue
        end = activity.get(instance_id, (None, None))[1]
        if end is None and facts.get("State", {}).get("Name") not in (None, "pending", "running"):
            end = _state_change_time(facts)
        ran.append(Ran(instance_id, facts.get("InstanceType"), max(launched, since), end))
    return ran


def actual_cost(ran: list[Ran], prices: PriceSource, until: datetime) -> ActualCost:
    """Price each instance's hours up to `until` at its type's hourly price."""
    by_type: dict[str | None, list[Decimal]] = {}
    for instance in ran:
        end = min(instance.end or until, until)
        spent = Decimal(max(0.0, (end - instance.start).total_seconds())) / 3600
        by_type.setdefault(instance.instance_type, []).append(spent)
    usd, priced, parts = Decimal(0), True, []
    for kind, spans in sorted(by_type.items(), key=lambda item: str(item[0])):
        price = prices.hourly_price(kind) if kind else None
        text = f"{len(spans)} × {kind or 'unknown type'}: {sum(spans):.2f} instance-hours"
        if price is None:
            priced = False
            parts.append(f"{text} (no price)")
            continue
        usd += sum(spans) * Decimal(str(price))
        parts.append(f"{text} × ${price}/h")
    total = float(round(usd, 2)) if priced else None
    text = " + ".join(parts) or "no instance was added"
    return ActualCost(
        usd=total,
        instance_hours=round(float(sum((sum(s) for s in by_type.values()), Decimal(0))), 3),
        instances=len(ran),
        breakdown=f"{text} = ${total:.2f}" if total is not None else text,
        ended=all(instance.end is not None and instance.end <= until for instance in ran),
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
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        response = ec2.describe_instances(InstanceIds=ids[start : start + 100])
        for reservation in response["Reservations"]:
            for instance in reservation["Instances"]:
                found[instance["InstanceId"]] = instance
    return found


_TRANSITION = re.compile(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) GMT\)")


def _state_change_time(instance: dict[str, Any]) -> datetime | None:
    """When a stopped or terminated instance changed state, from EC2's transition reason."""
    match = _TRANSITION.search(str(instance.get("StateTransitionReason", "")))
    if match is None:
        return None
    return datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
