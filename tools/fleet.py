"""EC2 and Auto Scaling facts about a resource: what it is, its tags, its group and capacity."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.domain import TargetFacts, TargetKind
from healer.errors import ToolUnavailable


def describe_instance(ec2: Any, instance_id: str) -> dict[str, Any] | None:
    """Type, state, AZ, tags and ASG of an instance, or None when it does not exist."""
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as exc:
        if "NotFound" in exc.response["Error"]["Code"]:
            return None
        raise ToolUnavailable(f"describe_instances failed: {exc}") from exc
    except BotoCoreError as exc:
        raise ToolUnavailable(f"describe_instances failed: {exc}") from exc
    instances = [i for r in reservations for i in r["Instances"]]
    if not instances:
        return None
    instance = instances[0]
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    return {
        "id": instance["InstanceId"],
        "type": instance["InstanceType"],
        "state": instance["State"]["Name"],
        "az": instance.get("Placement", {}).get("AvailabilityZone"),
        "tags": tags,
        "asg": tags.get("aws:autoscaling:groupName"),
        "status_checks": _status_checks(ec2, instance_id),
    }


def zone_instances(ec2: Any, zone: str, limit: int = 50) -> list[dict[str, Any]]:
    """Every instance in an Availability Zone: state, status checks, type and group."""
    try:
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "availability-zone", "Values": [zone]}]
        )
        instances = [i for page in pages for r in page["Reservations"] for i in r["Instances"]]
        ids = [i["InstanceId"] for i in instances][:limit]
        statuses = (
            ec2.describe_instance_status(InstanceIds=ids, IncludeAllInstances=True)[
                "InstanceStatuses"
            ]
            if ids
            else []
        )
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"describing zone {zone} failed: {exc}") from exc
    checks = {
        s["InstanceId"]: {
            "system": s.get("SystemStatus", {}).get("Status", "unknown"),
            "instance": s.get("InstanceStatus", {}).get("Status", "unknown"),
        }
        for s in statuses
    }
    found = []
    for instance in instances[:limit]:
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        found.append(
            {
                "id": instance["InstanceId"],
                "type": instance["InstanceType"],
                "state": instance["State"]["Name"],
                "az": zone,
                "asg": tags.get("aws:autoscaling:groupName"),
                "status_checks": checks.get(instance["InstanceId"]),
            }
        )
    return found


def _status_checks(ec2: Any, instance_id: str) -> dict[str, str] | None:
    """The EC2 system and instance status checks (ok, impaired, ...), None when not reported."""
    try:
        found = ec2.describe_instance_status(InstanceIds=[instance_id])["InstanceStatuses"]
    except (ClientError, BotoCoreError):
        return None  # the checks are evidence, not a precondition: their absence is no fault
    if not found:
        return None
    return {
        "system": found[0].get("SystemStatus", {}).get("Status", "unknown"),
        "instance": found[0].get("InstanceStatus", {}).get("Status", "unknown"),
    }


def describe_asg(autoscaling: Any, name: str) -> dict[str, Any] | None:
    """Capacity, members, tags and launch template of an ASG, or None when it does not exist."""
    try:
        groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"describe_auto_scaling_groups failed: {exc}") from exc
    if not groups["AutoScalingGroups"]:
        return None
    group = groups["AutoScalingGroups"][0]
    template = group.get("LaunchTemplate") or {}
    return {
        "name": group["AutoScalingGroupName"],
        "min": group["MinSize"],
        "max": group["MaxSize"],
        "desired": group["DesiredCapacity"],
        "instances": [i["InstanceId"] for i in group.get("Instances", [])],
        "tags": {t["Key"]: t["Value"] for t in group.get("Tags", [])},
        "launch_template": template.get("LaunchTemplateName") or template.get("LaunchTemplateId"),
        "launch_template_version": template.get("Version"),
        "instance_type": _asg_instance_type(group),
    }


def _asg_instance_type(group: dict[str, Any]) -> str | None:
    for instance in group.get("Instances", []):
        if instance.get("InstanceType"):
            return str(instance["InstanceType"])
    return None


def asg_of_instance(autoscaling: Any, instance_id: str) -> str | None:
    try:
        found = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"describe_auto_scaling_instances failed: {exc}") from exc
    instances = found.get("AutoScalingInstances", [])
    return instances[0]["AutoScalingGroupName"] if instances else None


def target_facts(ec2: Any, autoscaling: Any, target: str) -> tuple[TargetFacts, str | None]:
    """What the guardrail must know about a target, and its instance type (for pricing)."""
    if target.startswith("i-"):
        instance = describe_instance(ec2, target)
        if instance is None or instance["state"] == "terminated":
            return TargetFacts(exists=False, kind=TargetKind.INSTANCE), None
        asg_name = instance["asg"] or asg_of_instance(autoscaling, target)
        asg = describe_asg(autoscaling, asg_name) if asg_name else None
        return (
            TargetFacts(
                kind=TargetKind.INSTANCE,
                tags=instance["tags"],
                asg_name=asg_name,
                asg_min=asg["min"] if asg else None,
                asg_max=asg["max"] if asg else None,
                asg_desired=asg["desired"] if asg else None,
            ),
            instance["type"],
        )
    asg = describe_asg(autoscaling, target)
    if asg is None:
        return TargetFacts(exists=False), None
    instance_type = asg["instance_type"]
    if instance_type is None and asg["instances"]:
        member = describe_instance(ec2, asg["instances"][0])
        instance_type = member["type"] if member else None
    return (
        TargetFacts(
            kind=TargetKind.ASG,
            tags=asg["tags"],
            asg_name=asg["name"],
            asg_min=asg["min"],
            asg_max=asg["max"],
            asg_desired=asg["desired"],
            instance_count=len(asg["instances"]),
        ),
        instance_type,
    )
