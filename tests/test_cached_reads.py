"""An investigation reads each thing once; writes and polls always reach AWS."""

from __future__ import annotations

from typing import Any

from tools.aws import AwsClients, CachedReads


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def describe_instances(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("describe_instances")
        return {"Reservations": [{"id": kwargs.get("InstanceIds")}]}

    def get_command_invocation(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append("get_command_invocation")
        return {"Status": "InProgress"}

    def send_command(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append("send_command")
        return {}


def test_a_read_is_asked_once_per_arguments_and_each_answer_is_a_copy() -> None:
    client = Recorder()
    reads = CachedReads(client)

    first = reads.describe_instances(InstanceIds=["i-1"])
    first["Reservations"].clear()  # a caller changing its answer changes no other answer
    again = reads.describe_instances(InstanceIds=["i-1"])
    reads.describe_instances(InstanceIds=["i-2"])

    assert again == {"Reservations": [{"id": ["i-1"]}]}
    assert client.calls == ["describe_instances", "describe_instances"]


def test_writes_and_polls_always_reach_aws() -> None:
    client = Recorder()
    reads = CachedReads(client)
    for _ in range(2):
        reads.send_command(InstanceIds=["i-1"])
        reads.get_command_invocation(CommandId="c")
    assert client.calls == ["send_command", "get_command_invocation"] * 2


def test_reading_once_wraps_every_client_and_keeps_the_region() -> None:
    aws = AwsClients(
        cloudwatch=Recorder(),
        logs=Recorder(),
        ec2=Recorder(),
        autoscaling=Recorder(),
        ssm=Recorder(),
        region="eu-west-1",
    )
    cached = aws.reading_once()
    assert cached.region == "eu-west-1" and isinstance(cached.ec2, CachedReads)
    assert cached.elbv2 is None
