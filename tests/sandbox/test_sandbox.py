"""The sandbox AWS account: seeding from a case, alarm events, effects, automation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from healer.cases import Case, load_case
from healer.errors import ConfigError, ToolInputError
from healer.sandbox import CHANGES_LOG_GROUP, Sandbox, launch_template_name

CASES_DIR = Path(__file__).resolve().parents[2] / "evals" / "cases"
DISK = "dev-disk-full-web"
SURGE = "dev-traffic-surge-api"
WEB_1 = "i-0a1b2c3d4e5f60001"


def _case(case_id: str) -> Case:
    return load_case(CASES_DIR / f"{case_id}.yaml")


def _instances(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    reservations = sandbox.client("ec2").describe_instances()["Reservations"]
    return {i["InstanceId"]: i for r in reservations for i in r["Instances"]}


def _alarm_states(sandbox: Sandbox) -> dict[str, str]:
    alarms = sandbox.client("cloudwatch").describe_alarms()["MetricAlarms"]
    return {a["AlarmName"]: a["StateValue"] for a in alarms}


def _series(sandbox: Sandbox, namespace: str, metric: str, dims: dict[str, str]) -> list[float]:
    result = sandbox.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    },
                    "Period": 60,
                    "Stat": "Average",
                },
            }
        ],
        StartTime=sandbox.anchor - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        ScanBy="TimestampAscending",
    )["MetricDataResults"][0]
    return [float(v) for v in result["Values"]]


def _custom_world_case() -> Case:
    return Case.model_validate(
        {
            "id": "custom-world",
            "title": "states, template versions and another account",
            "world": {
                "region": "eu-west-1",
                "account": "210987654321",
                "instances": [
                    {"id": "i-00000000000000a01", "type": "t3.small", "state": "stopped"},
                    {"id": "i-00000000000000a02", "type": "t3.small", "state": "terminated"},
                    {"id": "i-00000000000000a03", "type": "t3.small", "state": "impaired"},
                    {"id": "i-00000000000000a04", "type": "t3.small", "asg": "db-asg"},
                ],
                "autoscaling_groups": [
                    {
                        "name": "db-asg",
                        "min": 1,
                        "max": 3,
                        "desired": 1,
                        "instance_type": "t3.small",
                        "launch_template_version": "3",
                    }
                ],
            },
            "events": [{"at": 0, "raw": {"hello": "world"}}],
        }
    )


@pytest.fixture(scope="class")
def disk_sandbox() -> Iterator[Sandbox]:
    """The disk case, seeded once for the read-only tests of a class."""
    with Sandbox(_case(DISK)) as sandbox:
        yield sandbox


@pytest.fixture(scope="class")
def custom_sandbox() -> Iterator[Sandbox]:
    """A hand-written world with unusual states, seeded once for a class."""
    with Sandbox(_custom_world_case()) as sandbox:
        yield sandbox


class TestSeededWorld:
    """The disk case seeded into a sandbox, read back through the AWS APIs."""

    @pytest.fixture
    def sandbox(self, disk_sandbox: Sandbox) -> Sandbox:
        return disk_sandbox

    def test_instances_have_exactly_the_case_ids_types_and_tags(self, sandbox: Sandbox) -> None:
        instances = _instances(sandbox)
        assert set(instances) == {WEB_1, "i-0a1b2c3d4e5f60002"}
        web_1 = instances[WEB_1]
        assert web_1["InstanceType"] == "m5.large"
        assert web_1["Placement"]["AvailabilityZone"] == "us-east-1a"
        assert web_1["State"]["Name"] == "running"
        tags = {t["Key"]: t["Value"] for t in web_1["Tags"]}
        assert tags["Name"] == "web-1"
        assert tags["healer:managed"] == "true"

    def test_the_asg_has_its_members_and_sizes(self, sandbox: Sandbox) -> None:
        groups = sandbox.client("autoscaling").describe_auto_scaling_groups()
        (group,) = groups["AutoScalingGroups"]
        assert group["AutoScalingGroupName"] == "web-asg"
        assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (2, 6, 2)
        assert {i["InstanceId"] for i in group["Instances"]} == {WEB_1, "i-0a1b2c3d4e5f60002"}
        tags = {t["Key"]: t["Value"] for t in group["Tags"]}
        assert tags == {"Service": "web", "healer:managed": "true"}
        assert group["LaunchTemplate"]["LaunchTemplateName"] == launch_template_name("web-asg")

    def test_alarms_exist_in_the_case_state(self, sandbox: Sandbox) -> None:
        (alarm,) = sandbox.client("cloudwatch").describe_alarms()["MetricAlarms"]
        assert alarm["AlarmName"] == "web-1-disk-used"
        assert alarm["StateValue"] == "ALARM"
        assert alarm["Threshold"] == 90
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [91.0, 96.0, 98.0]

    def test_metric_series_read_back(self, sandbox: Sandbox) -> None:
        dims = {"InstanceId": WEB_1, "path": "/", "fstype": "xfs"}
        values = _series(sandbox, "CWAgent", "disk_used_percent", dims)
        assert values == [71, 72, 74, 79, 85, 91, 96, 98]

    def test_log_lines_are_searchable(self, sandbox: Sandbox) -> None:
        found = sandbox.client("logs").filter_log_events(
            logGroupName="/app/web", filterPattern="logrotate"
        )["events"]
        assert len(found) == 2
        assert all(e["logStreamName"] == WEB_1 for e in found)
        assert found[0]["timestamp"] == int(
            (sandbox.anchor - timedelta(seconds=600)).timestamp() * 1000
        )

    def test_recent_changes_are_cloudtrail_records_in_logs(self, sandbox: Sandbox) -> None:
        events = sandbox.client("logs").filter_log_events(logGroupName=CHANGES_LOG_GROUP)["events"]
        (record,) = [json.loads(e["message"]) for e in events]
        assert record["eventName"] == "UpdateAutoScalingGroup"
        assert record["userIdentity"] == {
            "type": "IAMUser",
            "userName": "deploy-bot",
            "accountId": "123456789012",
            "arn": "arn:aws:iam::123456789012:user/deploy-bot",
        }
        assert record["resources"] == [{"resourceName": "web-asg"}]
        assert record["requestParameters"] == {"LaunchTemplateVersion": "7"}

    def test_ssm_documents_are_registered(self, sandbox: Sandbox) -> None:
        ssm = sandbox.client("ssm")
        for name in ("RestartService", "CleanupDisk"):
            document = ssm.describe_document(Name=name)["Document"]
            assert document["DocumentType"] == "Command"
        command = ssm.send_command(
            DocumentName="RestartService",
            InstanceIds=[WEB_1],
            Parameters={"ServiceName": ["nginx"]},
        )["Command"]
        assert command["DocumentName"] == "RestartService"

    def test_prices_come_from_the_case(self, sandbox: Sandbox) -> None:
        assert sandbox.prices == {"m5.large": 0.096}
        assert sandbox.impaired_instances == frozenset()

    def test_a_second_sandbox_cannot_run_at_the_same_time(self, sandbox: Sandbox) -> None:
        with pytest.raises(ConfigError, match="another sandbox"):
            Sandbox(_case(SURGE)).start()


class TestCustomWorld:
    """Instance states, launch-template versions and a non-default account."""

    @pytest.fixture
    def sandbox(self, custom_sandbox: Sandbox) -> Sandbox:
        return custom_sandbox

    def test_instance_states(self, sandbox: Sandbox) -> None:
        states = {i: d["State"]["Name"] for i, d in _instances(sandbox).items()}
        assert states == {
            "i-00000000000000a01": "stopped",
            "i-00000000000000a02": "terminated",
            "i-00000000000000a03": "running",
            "i-00000000000000a04": "running",
        }
        assert sandbox.impaired_instances == frozenset({"i-00000000000000a03"})

    def test_impaired_instances_fail_their_status_checks(self, sandbox: Sandbox) -> None:
        statuses = sandbox.client("ec2").describe_instance_status(
            InstanceIds=["i-00000000000000a03", "i-00000000000000a04"]
        )["InstanceStatuses"]
        checks = {
            s["InstanceId"]: (s["SystemStatus"]["Status"], s["InstanceStatus"]["Status"])
            for s in statuses
        }
        assert checks == {
            "i-00000000000000a03": ("impaired", "impaired"),
            "i-00000000000000a04": ("ok", "ok"),
        }

    def test_the_previous_launch_template_version_exists(self, sandbox: Sandbox) -> None:
        versions = sandbox.client("ec2").describe_launch_template_versions(
            LaunchTemplateName=launch_template_name("db-asg")
        )["LaunchTemplateVersions"]
        assert sorted(v["VersionNumber"] for v in versions) == [1, 2, 3]
        (group,) = sandbox.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
        assert group["LaunchTemplate"]["Version"] == "3"
        assert [i["InstanceId"] for i in group["Instances"]] == ["i-00000000000000a04"]

    def test_the_account_is_the_case_account(self, sandbox: Sandbox) -> None:
        identity = sandbox.client("sts").get_caller_identity()
        assert identity["Account"] == "210987654321"

    def test_automation_restarts_and_resizes(self, sandbox: Sandbox) -> None:
        automation = sandbox.automation
        instance = "i-00000000000000a01"
        restart = automation.start("AWS-RestartEC2Instance", {"InstanceId": [instance]})
        assert automation.status(restart) == "Success"
        assert _instances(sandbox)[instance]["State"]["Name"] == "running"
        resize = automation.start(
            "AWS-ResizeInstance", {"InstanceId": instance, "InstanceType": "t3.large"}
        )
        assert automation.status(resize) == "Success"
        assert _instances(sandbox)[instance]["InstanceType"] == "t3.large"

    def test_automation_failures(self, sandbox: Sandbox) -> None:
        automation = sandbox.automation
        missing = automation.start(
            "AWS-RestartEC2Instance", {"InstanceId": ["i-0fffffffffffffff0"]}
        )
        assert automation.status(missing) == "Failed"
        with pytest.raises(ToolInputError, match="document_name"):
            automation.start("AWS-DeleteEverything", {})
        with pytest.raises(ToolInputError, match=r"parameters\.InstanceType"):
            automation.start("AWS-ResizeInstance", {"InstanceId": "i-00000000000000a01"})


def test_alarm_event_has_the_cloudwatch_shape() -> None:
    anchor = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    event = Sandbox(_case(DISK), anchor=anchor).alarm_event("web-1-disk-used", at=5)
    assert event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["source"] == "aws.cloudwatch"
    assert event["time"] == "2025-03-01T12:00:05Z"
    assert event["resources"] == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-1-disk-used"]
    detail = event["detail"]
    assert detail["alarmName"] == "web-1-disk-used"
    (metric,) = detail["configuration"]["metrics"]
    assert metric["metricStat"]["metric"] == {
        "namespace": "CWAgent",
        "name": "disk_used_percent",
        "dimensions": {"InstanceId": WEB_1, "path": "/", "fstype": "xfs"},
    }
    assert (metric["metricStat"]["period"], metric["metricStat"]["stat"]) == (60, "Average")
    assert detail["state"]["value"] == "ALARM"
    assert detail["previousState"]["value"] == "OK"
    assert detail["state"]["timestamp"] == "2025-03-01T12:00:05.123+0000"
    assert detail["state"]["reason"].startswith("Threshold Crossed: 3 out of the last 3")
    reason_data = json.loads(detail["state"]["reasonData"])
    assert reason_data["recentDatapoints"] == [91.0, 96.0, 98.0]
    assert reason_data["threshold"] == 90.0
    assert (reason_data["statistic"], reason_data["period"]) == ("Average", 60)
    assert set(reason_data) >= {"version", "queryDate", "startDate"}


def test_case_events_build_alarm_events_in_order() -> None:
    events = Sandbox(_case(SURGE)).case_events()
    assert [(at, e["detail"]["alarmName"]) for at, e in events] == [
        (0, "api-asg-cpu-high"),
        (20, "api-alb-5xx"),
    ]


class TestEffects:
    """The surge case's world reacting to healer actions."""

    @pytest.fixture
    def sandbox(self) -> Iterator[Sandbox]:
        with Sandbox(_case(SURGE)) as sandbox:
            yield sandbox

    def test_a_matching_action_resolves_the_alarms_and_appends_metrics(
        self, sandbox: Sandbox
    ) -> None:
        changes = sandbox.apply_effects("scale_out", "api-asg", {"count": 10})
        assert "alarm api-asg-cpu-high -> OK" in changes
        assert _alarm_states(sandbox) == {"api-asg-cpu-high": "OK", "api-alb-5xx": "OK"}
        values = _series(sandbox, "AWS/EC2", "CPUUtilization", {"AutoScalingGroupName": "api-asg"})
        assert values[-3:] == [71, 52, 44]
        assert len(values) == 11

    def test_an_action_with_no_matching_effect_changes_nothing(self, sandbox: Sandbox) -> None:
        assert sandbox.apply_effects("restart_instance", "i-0b00000000000a001", {}) == []
        assert sandbox.apply_effects("scale_out", "other-asg", {}) == []
        assert _alarm_states(sandbox) == {"api-asg-cpu-high": "ALARM", "api-alb-5xx": "ALARM"}


def test_sandboxes_run_one_after_another_without_leaking_state() -> None:
    with Sandbox(_case(DISK)) as first:
        assert WEB_1 in _instances(first)
        first.apply_effects("clear_disk_space", WEB_1, {})
    with Sandbox(_case(SURGE)) as second:
        assert set(_instances(second)) == {f"i-0b00000000000a00{n}" for n in range(1, 5)}
        assert set(_alarm_states(second)) == {"api-asg-cpu-high", "api-alb-5xx"}
        groups = second.client("logs").describe_log_groups()["logGroups"]
        assert {g["logGroupName"] for g in groups} == {"/app/api", CHANGES_LOG_GROUP}
        changes = second.client("logs").filter_log_events(logGroupName=CHANGES_LOG_GROUP)
        assert [json.loads(e["message"])["eventName"] for e in changes["events"]] == ["PutRule"]
    with pytest.raises(ConfigError, match="not running"):
        _ = second.endpoint_url
