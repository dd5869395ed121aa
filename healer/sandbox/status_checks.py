"""EC2 status checks for instances a case marks `impaired`: they run, but fail both checks.

moto reports every running instance as passing; the sandbox's stand-in swaps the class of the
impaired instances in moto's in-process backend so `DescribeInstanceStatus` answers as AWS does.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import Instance

_FAILED = {"Details": [{"Name": "reachability", "Status": "failed"}], "Status": "impaired"}


class ImpairedInstance(Instance):
    """A running instance whose system and instance reachability checks fail.

    It keeps the class name `Instance`: moto's serializer maps `InstanceId` to the `id`
    attribute by stripping the class name from the key.
    """

    @property
    def instance_status(self) -> dict[str, Any]:
        return _FAILED if self.state_code == 16 else super().instance_status

    @property
    def system_status(self) -> dict[str, Any]:
        return _FAILED if self.state_code == 16 else super().system_status


ImpairedInstance.__name__ = ImpairedInstance.__qualname__ = "Instance"


def impair(instance_ids: frozenset[str], account: str, region: str) -> None:
    """Make the given instances fail their status checks in the sandbox account."""
    backend = ec2_backends[account][region]
    for instance_id in instance_ids:
        backend.get_instance(instance_id).__class__ = ImpairedInstance  # type: ignore[type-abstract]
