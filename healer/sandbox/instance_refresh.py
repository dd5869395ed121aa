"""A stand-in for EC2 Auto Scaling Instance Refresh, which moto does not implement."""

from __future__ import annotations

import uuid
from typing import Any


def replace_members(autoscaling: Any, group_name: str) -> str:
    """Replace the group's in-service instances one at a time, as a refresh would.

    Each member is terminated without lowering desired capacity, so the group launches a
    replacement from its (rolled-back) launch template.
    """
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])
    for member in groups["AutoScalingGroups"][0].get("Instances", []):
        if member.get("LifecycleState") == "InService":
            autoscaling.terminate_instance_in_auto_scaling_group(
                InstanceId=member["InstanceId"], ShouldDecrementDesiredCapacity=False
            )
    return f"sandbox-refresh-{uuid.uuid4().hex[:12]}"
