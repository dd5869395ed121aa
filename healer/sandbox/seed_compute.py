"""Seed EC2 instances and auto scaling groups of a case into the sandbox account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from healer.cases import CaseAsg, CaseInstance, CaseWorld
from healer.errors import CaseError
from healer.sandbox.instance_ids import steered_instance_ids

ClientFactory = Callable[[str], Any]

DEFAULT_AMI = "ami-12c6146b"
"""An AMI in moto's default image list (moto accepts unknown AMIs, but warns)."""


def seed_instances(client: ClientFactory, world: CaseWorld) -> frozenset[str]:
    """Create the case's instances with exactly their ids, types, AZs, tags and states.

    Returns:
        The ids of the instances the case marks `impaired` (they run, but fail status checks).
    """
    ec2 = client("ec2")
    image_id = _default_image(ec2)
    for instance in world.instances:
        _run_instance(ec2, instance, image_id, world.region)
    by_state: dict[str, list[str]] = {}
    for instance in world.instances:
        by_state.setdefault(instance.state, []).append(instance.id)
    if by_state.get("stopped"):
        ec2.stop_instances(InstanceIds=by_state["stopped"])
    if by_state.get("terminated"):
        ec2.terminate_instances(InstanceIds=by_state["terminated"])
    return frozenset(by_state.get("impaired", []))


def seed_autoscaling_groups(client: ClientFactory, world: CaseWorld) -> None:
    """Create each ASG with its launch template, attach its member instances, set its sizes."""
    known = {asg.name for asg in world.autoscaling_groups}
    for index, instance in enumerate(world.instances):
        if instance.asg is not None and instance.asg not in known:
            raise CaseError(
                f"$.world.instances[{index}].asg: no auto scaling group {instance.asg!r}"
            )
    image_id = _default_image(client("ec2"))
    for asg in world.autoscaling_groups:
        members = [i for i in world.instances if i.asg == asg.name and i.state != "terminated"]
        _create_group(client, asg, members, image_id, world.region)


def launch_template_name(asg_name: str) -> str:
    """The name of the launch template the sandbox creates for an ASG."""
    return f"{asg_name}-lt"


def _run_instance(ec2: Any, instance: CaseInstance, image_id: str, region: str) -> None:
    request: dict[str, Any] = {
        "ImageId": image_id,
        "MinCount": 1,
        "MaxCount": 1,
        "InstanceType": instance.type,
        "Placement": {"AvailabilityZone": instance.az or f"{region}a"},
    }
    if instance.tags:
        tags = [{"Key": key, "Value": value} for key, value in instance.tags.items()]
        request["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tags}]
    with steered_instance_ids([instance.id]):
        created = ec2.run_instances(**request)["Instances"][0]["InstanceId"]
    if created != instance.id:
        raise CaseError(f"sandbox could not give instance id {instance.id} (got {created})")


def _create_group(
    client: ClientFactory, asg: CaseAsg, members: list[CaseInstance], image_id: str, region: str
) -> None:
    ec2, autoscaling = client("ec2"), client("autoscaling")
    template, version = _launch_template(ec2, asg, image_id)
    zones = sorted({m.az or f"{region}a" for m in members}) or [f"{region}a"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=asg.name,
        LaunchTemplate={"LaunchTemplateName": template, "Version": version},
        MinSize=0,
        MaxSize=max(asg.max, len(members)),
        DesiredCapacity=0,
        AvailabilityZones=zones,
    )
    if members:
        autoscaling.attach_instances(
            AutoScalingGroupName=asg.name, InstanceIds=[m.id for m in members]
        )
    autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=asg.name,
        MinSize=asg.min,
        MaxSize=asg.max,
        DesiredCapacity=asg.desired,
    )
    if asg.tags:
        autoscaling.create_or_update_tags(
            Tags=[
                {
                    "ResourceId": asg.name,
                    "ResourceType": "auto-scaling-group",
                    "Key": key,
                    "Value": value,
                    "PropagateAtLaunch": True,
                }
                for key, value in asg.tags.items()
            ]
        )


def _launch_template(ec2: Any, asg: CaseAsg, image_id: str) -> tuple[str, str]:
    """Create the ASG's launch template with as many versions as the case's version number."""
    name = launch_template_name(asg.name)
    data = {"ImageId": image_id, "InstanceType": asg.instance_type}
    ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)
    wanted = asg.launch_template_version
    if wanted is None:
        return name, "$Latest"
    count = int(wanted) if wanted.isdigit() else 1
    for source in range(1, count):
        ec2.create_launch_template_version(
            LaunchTemplateName=name, SourceVersion=str(source), LaunchTemplateData=data
        )
    return name, wanted


def _default_image(ec2: Any) -> str:
    try:
        images = ec2.describe_images(ImageIds=[DEFAULT_AMI])["Images"]
    except ClientError:
        images = []
    if images:
        return DEFAULT_AMI
    first: str = ec2.describe_images()["Images"][0]["ImageId"]
    return first
