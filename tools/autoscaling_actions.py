"""Auto Scaling actions as intent, then effect: the absolute target is computed and recorded
before the side effect, so a resume re-applies the same target instead of stepping again."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.domain import ActionId, ActionProposal
from healer.errors import ActionRejected, ToolInputError
from tools.fleet import describe_asg


def intent_of(autoscaling: Any, proposal: ActionProposal) -> str:
    """The absolute change to make, as JSON (recorded in the execution ledger before acting)."""
    params = proposal.params
    if proposal.action == ActionId.SCALE_OUT:
        group = _require_group(autoscaling, proposal.target)
        desired = min(group["desired"] + params["count"], group["max"])
        intent: dict[str, Any] = {
            "desired": desired,
            "from": group["desired"],
            "members": group["instances"],  # what ran before: the actual cost counts the rest
        }
    elif proposal.action == ActionId.RAISE_CAPACITY_LIMIT:
        group = _require_group(autoscaling, proposal.target)
        intent = {"max": params["max"], "desired": params["desired"], "members": group["instances"]}
    elif proposal.action in (ActionId.REPLACE_INSTANCE, ActionId.ISOLATE_INSTANCE):
        intent = {"instance": proposal.target, "group": _group_of(autoscaling, proposal.target)}
    elif proposal.action == ActionId.ROLLBACK_DEPLOYMENT:
        group = _require_group(autoscaling, proposal.target)
        current = group["launch_template_version"]
        version = params.get("launch_template_version")
        if version is None:
            if current is None or not str(current).isdigit() or int(current) < 2:
                raise ToolInputError(f"no previous launch template version (current {current})")
            version = str(int(current) - 1)
        intent = {"template": group["launch_template"], "version": version, "from": current}
    else:
        raise ActionRejected(f"{proposal.action} has no Auto Scaling executor")
    return json.dumps(intent, sort_keys=True)


InstanceRefresh = Callable[[Any, str], str]


def start_instance_refresh(autoscaling: Any, group_name: str) -> str:
    """Replace a group's instances with ones from its current launch template (EC2 Auto Scaling
    Instance Refresh); returns the refresh id."""
    response = autoscaling.start_instance_refresh(AutoScalingGroupName=group_name)
    return str(response.get("InstanceRefreshId", ""))


def apply_intent(
    autoscaling: Any,
    proposal: ActionProposal,
    intent_json: str,
    refresh: InstanceRefresh = start_instance_refresh,
) -> tuple[str, str]:
    """Make the recorded change; returns (succeeded|failed, detail). Safe to repeat."""
    intent = json.loads(intent_json)
    name = proposal.target
    try:
        if proposal.action == ActionId.SCALE_OUT:
            autoscaling.set_desired_capacity(
                AutoScalingGroupName=name, DesiredCapacity=intent["desired"], HonorCooldown=False
            )
            return "succeeded", f"desired capacity {intent['from']} → {intent['desired']}"
        if proposal.action == ActionId.RAISE_CAPACITY_LIMIT:
            autoscaling.update_auto_scaling_group(
                AutoScalingGroupName=name, MaxSize=intent["max"], DesiredCapacity=intent["desired"]
            )
            return "succeeded", f"max {intent['max']}, desired {intent['desired']}"
        if proposal.action == ActionId.REPLACE_INSTANCE:
            if not _in_group(autoscaling, intent["instance"]):
                return "succeeded", "already out of the group; the group replaces it"
            autoscaling.terminate_instance_in_auto_scaling_group(
                InstanceId=intent["instance"], ShouldDecrementDesiredCapacity=False
            )
            return "succeeded", "terminated; the group launches a replacement"
        if proposal.action == ActionId.ISOLATE_INSTANCE:
            if _lifecycle(autoscaling, intent["instance"]) != "Standby":
                autoscaling.enter_standby(
                    InstanceIds=[intent["instance"]],
                    AutoScalingGroupName=intent["group"],
                    ShouldDecrementDesiredCapacity=False,
                )
            return "succeeded", f"in Standby in {intent['group']}, kept for forensics"
        if proposal.action == ActionId.ROLLBACK_DEPLOYMENT:
            autoscaling.update_auto_scaling_group(
                AutoScalingGroupName=name,
                LaunchTemplate={
                    "LaunchTemplateName": intent["template"],
                    "Version": intent["version"],
                },
            )
            refresh(autoscaling, name)
            return (
                "succeeded",
                f"launch template version {intent['from']} → {intent['version']}; "
                "instance refresh started",
            )
    except (ClientError, BotoCoreError) as exc:
        return "failed", f"{proposal.action} failed: {exc}"
    raise ActionRejected(f"{proposal.action} has no Auto Scaling executor")


def _require_group(autoscaling: Any, name: str) -> dict[str, Any]:
    group = describe_asg(autoscaling, name)
    if group is None:
        raise ToolInputError(f"no Auto Scaling group named {name}")
    return group


def _membership(autoscaling: Any, instance_id: str) -> dict[str, Any] | None:
    found = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])
    instances = found.get("AutoScalingInstances", [])
    return instances[0] if instances else None


def _group_of(autoscaling: Any, instance_id: str) -> str:
    member = _membership(autoscaling, instance_id)
    if member is None:
        raise ToolInputError(f"{instance_id} is not in an Auto Scaling group")
    return str(member["AutoScalingGroupName"])


def _in_group(autoscaling: Any, instance_id: str) -> bool:
    member = _membership(autoscaling, instance_id)
    return member is not None and not str(member.get("LifecycleState", "")).startswith("Termin")


def _lifecycle(autoscaling: Any, instance_id: str) -> str | None:
    member = _membership(autoscaling, instance_id)
    return str(member.get("LifecycleState")) if member else None
