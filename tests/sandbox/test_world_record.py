"""The sandbox's own record of the world: what it counts, what it labels as its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from healer.cases import load_case
from healer.sandbox import Sandbox
from healer.sandbox.world_record import ORIGIN_HEADER, is_mutating, unflatten

CASES_DIR = Path(__file__).resolve().parents[2] / "evals" / "cases"
WEB_1 = "i-0a1b2c3d4e5f60001"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(load_case(CASES_DIR / "dev-disk-full-web.yaml")) as running:
        yield running


def _plain_client(sandbox: Sandbox, service: str, **headers: str) -> Any:
    """A boto3 client of its own, as any code bypassing the healer's tools would build it."""
    client = boto3.client(
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name=sandbox.region,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )

    def add(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = sandbox.account
        for name, value in headers.items():
            request.headers[name] = value

    client.meta.events.register("before-sign", add)
    return client


def test_seeding_and_reads_are_not_in_the_record() -> None:
    with Sandbox(load_case(CASES_DIR / "dev-traffic-surge-api.yaml")) as fresh:
        fresh.client("ec2").describe_instances()
        fresh.client("autoscaling").describe_auto_scaling_groups()
        fresh.client("logs").filter_log_events(logGroupName="/app/api")
        assert fresh.world_calls == []


def test_effects_and_alarm_recoveries_are_the_sandboxs_own(sandbox: Sandbox) -> None:
    before = len(sandbox.world_calls)
    sandbox.apply_effects("clear_disk_space", WEB_1)
    sandbox.set_alarm_state("web-1-disk-used", "ALARM", "test")
    new = sandbox.world_calls[before:]
    assert {c.operation for c in new} == {"PutMetricData", "SetAlarmState"}
    assert {c.origin for c in new} == {"sandbox"}


def test_a_direct_boto3_call_is_recorded_with_its_targets_and_parameters(
    sandbox: Sandbox,
) -> None:
    ssm = _plain_client(sandbox, "ssm")
    ssm.send_command(
        DocumentName="RestartService",
        InstanceIds=[WEB_1],
        Parameters={"ServiceName": ["sshd"]},
        Comment="not the healer",
    )
    call = sandbox.world_calls[-1]
    assert (call.origin, call.service, call.operation, call.targets) == (
        "healer",
        "ssm",
        "SendCommand",
        (WEB_1,),
    )
    assert call.params["Parameters"] == {"ServiceName": ["sshd"]}
    assert call.succeeded


def test_query_protocol_calls_are_parsed_and_a_refused_one_is_still_recorded(
    sandbox: Sandbox,
) -> None:
    sandbox.client("ec2").reboot_instances(InstanceIds=[WEB_1])
    with pytest.raises(Exception, match="NotFound"):
        sandbox.client("ec2").stop_instances(InstanceIds=["i-0fffffffffffffff0"])
    reboot, stop = sandbox.world_calls[-2:]
    assert (reboot.operation, reboot.targets, reboot.succeeded) == (
        "RebootInstances",
        (WEB_1,),
        True,
    )
    assert (stop.operation, stop.succeeded) == ("StopInstances", False)


def test_a_forged_origin_header_does_not_make_a_call_the_sandboxs(sandbox: Sandbox) -> None:
    ec2 = _plain_client(sandbox, "ec2", **{ORIGIN_HEADER: "sandbox"})
    ec2.create_tags(Resources=[WEB_1], Tags=[{"Key": "k", "Value": "v"}])
    assert sandbox.world_calls[-1].origin == "healer"
    assert sandbox.world_calls[-1].operation == "CreateTags"


def test_the_stand_ins_record_the_healers_request_not_their_inner_calls(
    sandbox: Sandbox,
) -> None:
    before = len(sandbox.world_calls)
    sandbox.automation.start("AWS-RestartEC2Instance", {"InstanceId": [WEB_1]})
    sandbox.instance_refresh(sandbox.client("autoscaling"), "web-asg")
    new = sandbox.world_calls[before:]
    healer = [(c.service, c.operation, c.targets) for c in new if c.origin == "healer"]
    assert healer == [
        ("ssm", "StartAutomationExecution", (WEB_1,)),
        ("autoscaling", "StartInstanceRefresh", ("web-asg",)),
    ]
    inner = {c.operation for c in new if c.origin == "sandbox"}
    assert {"StopInstances", "StartInstances", "TerminateInstanceInAutoScalingGroup"} <= inner


def test_the_record_outlives_the_sandbox() -> None:
    with Sandbox(load_case(CASES_DIR / "dev-traffic-surge-api.yaml")) as fresh:
        fresh.client("autoscaling").set_desired_capacity(
            AutoScalingGroupName="api-asg", DesiredCapacity=5
        )
    assert [(c.operation, c.params["DesiredCapacity"]) for c in fresh.world_calls] == [
        ("SetDesiredCapacity", "5")
    ]


@pytest.mark.parametrize(
    ("operation", "mutating"),
    [
        ("DescribeInstances", False),
        ("GetMetricData", False),
        ("ListCommands", False),
        ("FilterLogEvents", False),
        ("StartQuery", False),
        ("SendCommand", True),
        ("StartInstances", True),
        ("SetAlarmState", True),
        ("PutMetricData", True),
        ("POST /moto-api/reset", True),
    ],
)
def test_every_operation_but_a_read_mutates(operation: str, mutating: bool) -> None:
    assert is_mutating(operation) is mutating


def test_query_parameters_are_unflattened() -> None:
    assert unflatten(
        {
            "InstanceIds.member.1": "i-1",
            "InstanceIds.member.2": "i-2",
            "InstanceId.1": "i-3",
            "LaunchTemplate.Version": "7",
        }
    ) == {"InstanceIds": ["i-1", "i-2"], "InstanceId": ["i-3"], "LaunchTemplate": {"Version": "7"}}
