"""The incident's scope as AWS and the runbook say it is, read by the guardrail itself.

Nothing here takes a model's word: resources come from the alarms' own dimensions and from EC2,
Auto Scaling and Elastic Load Balancing; units from alarm dimensions, the runbook's declared
parameters, and lines systemd itself wrote to the host's system log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.domain import ActionId, Category, IncidentScope
from healer.errors import ToolInputError, ToolUnavailable
from healer.policy import unit_name
from knowledge_base.runbooks import Runbook
from tools.aws import AwsClients
from tools.cloudwatch import describe_alarms
from tools.fleet import asg_of_instance, describe_asg

PROCESS_DIMENSIONS = ("exe", "process_name", "ServiceName", "service", "unit")
"""Metric dimensions that name the process or unit an alarm watches (CloudWatch agent procstat)."""

SYSTEM_LOG_GROUP = re.compile(r"(^|/)(messages|syslog|journal|systemd)(/|$)")
"""Log groups that carry the host's system journal, where only systemd writes `systemd[1]:`."""

SYSTEMD_LINE = re.compile(
    r"^systemd(?:-[a-z]+)?\[\d+\]: .*?\b([a-zA-Z0-9_-]+(?:@[a-zA-Z0-9_.-]*)?)\.service\b"
)


def incident_scope(
    aws: AwsClients,
    alarms: list[str],
    category: Category | None,
    runbook_id: str | None,
    runbooks: dict[str, Runbook],
    target: str | None,
    since: datetime,
) -> IncidentScope:
    """What the incident covers; `target` is the instance whose systemd units are read (from
    `since` on)."""
    details = _alarm_details(aws, alarms)
    resources = _alarmed_resources(aws, details)
    runbook = runbooks.get(runbook_id) if runbook_id else None
    units: dict[str, tuple[str, ...]] = {}
    if target is not None and target.startswith("i-") and target in resources:
        declared = [
            unit_name(str(a.params["service"]))
            for a in (runbook.actions if runbook else [])
            if a.action == ActionId.RESTART_SERVICE and a.params.get("service")
        ]
        found = (
            [unit_name(n) for n in alarm_processes(details, target)]
            + declared
            + systemd_units(aws.logs, target, since)
        )
        units[target] = tuple(dict.fromkeys(found))
    return IncidentScope(
        resources=tuple(resources),
        category=category,
        runbook_id=runbook_id,
        runbook_category=runbook.category if runbook else None,
        runbook_actions=tuple(dict.fromkeys(a.action for a in runbook.actions if a.action))
        if runbook
        else (),
        units=units,
    )


def _alarm_details(aws: AwsClients, alarms: list[str]) -> list[dict[str, Any]]:
    try:
        return describe_alarms(aws.cloudwatch, alarms) if alarms else []
    except ToolInputError:  # a deleted alarm places nothing in scope
        return [a for name in alarms for a in _one_alarm(aws, name)]


def _one_alarm(aws: AwsClients, name: str) -> list[dict[str, Any]]:
    try:
        return describe_alarms(aws.cloudwatch, [name])
    except ToolInputError:
        return []


def _alarmed_resources(aws: AwsClients, details: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for alarm in details:
        dims = alarm.get("dimensions") or {}
        if "InstanceId" in dims:
            found.append(dims["InstanceId"])
            group = asg_of_instance(aws.autoscaling, dims["InstanceId"])
            if group:
                found.append(group)
        if "AutoScalingGroupName" in dims:
            found += _group_and_members(aws, dims["AutoScalingGroupName"])
        for instance in _behind_load_balancer(aws, dims):
            found.append(instance)
    return list(dict.fromkeys(found))


def _group_and_members(aws: AwsClients, name: str) -> list[str]:
    group = describe_asg(aws.autoscaling, name)
    return [] if group is None else [group["name"], *group["instances"]]


def _behind_load_balancer(aws: AwsClients, dims: dict[str, str]) -> list[str]:
    """Instances registered in the alarmed target group, or in every target group of the
    alarmed load balancer (dimension values `targetgroup/NAME/ID`, `app/NAME/ID`)."""
    if aws.elbv2 is None or not ({"TargetGroup", "LoadBalancer"} & set(dims)):
        return []
    try:
        if "TargetGroup" in dims:
            groups = aws.elbv2.describe_target_groups(Names=[dims["TargetGroup"].split("/")[1]])
        else:
            balancer = aws.elbv2.describe_load_balancers(Names=[dims["LoadBalancer"].split("/")[1]])
            arn = balancer["LoadBalancers"][0]["LoadBalancerArn"]
            groups = aws.elbv2.describe_target_groups(LoadBalancerArn=arn)
        arns = [g["TargetGroupArn"] for g in groups["TargetGroups"]]
        health = [aws.elbv2.describe_target_health(TargetGroupArn=arn) for arn in arns]
    except ClientError as exc:
        if "NotFound" in exc.response["Error"]["Code"]:
            return []
        raise ToolUnavailable(f"elastic load balancing lookup failed: {exc}") from exc
    except (BotoCoreError, IndexError) as exc:
        raise ToolUnavailable(f"elastic load balancing lookup failed: {exc}") from exc
    return [
        d["Target"]["Id"]
        for h in health
        for d in h.get("TargetHealthDescriptions", [])
        if str(d["Target"]["Id"]).startswith("i-")
    ]


def alarm_processes(alarms: list[dict[str, Any]], instance: str) -> list[str]:
    """The processes (units) that alarms on `instance` watch, named by their dimensions."""
    names = []
    for alarm in alarms:
        dims = alarm.get("dimensions") or {}
        if dims.get("InstanceId") == instance:
            names += [str(dims[d]) for d in PROCESS_DIMENSIONS if dims.get(d)]
    return names


def systemd_units(
    logs: Any, instance: str, since: datetime, groups: Iterable[str] | None = None
) -> list[str]:
    """Units systemd itself named, since `since`, in the instance's stream of a system log
    group."""
    try:
        names = groups if groups is not None else _system_log_groups(logs)
        units = []
        for group in names:
            pages = logs.get_paginator("filter_log_events").paginate(
                logGroupName=group,
                logStreamNames=[instance],
                filterPattern="systemd",
                startTime=int(since.timestamp() * 1000),
            )
            for page in pages:
                for event in page.get("events", []):
                    match = SYSTEMD_LINE.match(str(event.get("message", "")))
                    if match:
                        units.append(match.group(1))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise ToolUnavailable(f"reading the system log of {instance} failed: {exc}") from exc
    except BotoCoreError as exc:
        raise ToolUnavailable(f"reading the system log of {instance} failed: {exc}") from exc
    return list(dict.fromkeys(units))


def _system_log_groups(logs: Any) -> list[str]:
    pages = logs.get_paginator("describe_log_groups").paginate()
    names = [g["logGroupName"] for page in pages for g in page["logGroups"]]
    return [name for name in names if SYSTEM_LOG_GROUP.search(name)]
