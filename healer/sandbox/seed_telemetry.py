"""Seed alarms, metrics, logs, recent changes and SSM documents into the sandbox account."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from healer.cases import CaseChange, CaseLogStream, CaseSeries, CaseWorld
from healer.sandbox.alarm_events import alarm_datapoints, series_points, state_reason

ClientFactory = Callable[[str], Any]

CHANGES_LOG_GROUP = "/healer/cloudtrail"
"""Log group holding the case's recent changes as CloudTrail records (CloudTrail → Logs)."""
CHANGES_LOG_STREAM = "events"

_METRIC_BATCH = 20
_EVENT_SOURCES = {
    "AutoScalingGroup": "autoscaling.amazonaws.com",
    "LaunchConfiguration": "autoscaling.amazonaws.com",
    "ScalingPolicy": "autoscaling.amazonaws.com",
    "LaunchTemplate": "ec2.amazonaws.com",
    "Instance": "ec2.amazonaws.com",
    "SecurityGroup": "ec2.amazonaws.com",
    "Volume": "ec2.amazonaws.com",
    "Rule": "events.amazonaws.com",
    "Targets": "events.amazonaws.com",
    "Parameter": "ssm.amazonaws.com",
    "Document": "ssm.amazonaws.com",
    "Command": "ssm.amazonaws.com",
    "Alarm": "monitoring.amazonaws.com",
    "Function": "lambda.amazonaws.com",
    "Role": "iam.amazonaws.com",
    "Policy": "iam.amazonaws.com",
    "Secret": "secretsmanager.amazonaws.com",
}


def seed_alarms(client: ClientFactory, world: CaseWorld, anchor: datetime) -> None:
    """Create the case's metric alarms and put each in its state at offset 0."""
    cloudwatch = client("cloudwatch")
    for alarm in world.alarms:
        request: dict[str, Any] = {
            "AlarmName": alarm.name,
            "Namespace": alarm.namespace,
            "MetricName": alarm.metric,
            "Dimensions": _dimensions(alarm.dimensions),
            "Statistic": alarm.statistic,
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "Threshold": alarm.threshold,
            "ComparisonOperator": alarm.comparison,
            "ActionsEnabled": False,
        }
        if alarm.description is not None:
            request["AlarmDescription"] = alarm.description
        if alarm.tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in alarm.tags.items()]
        cloudwatch.put_metric_alarm(**request)
        points = alarm_datapoints(alarm, world.metrics, anchor, anchor)
        reason, reason_data = state_reason(alarm, alarm.state, points, anchor)
        cloudwatch.set_alarm_state(
            AlarmName=alarm.name,
            StateValue=alarm.state,
            StateReason=reason,
            StateReasonData=reason_data,
        )


def put_series(client: ClientFactory, series: CaseSeries, end: datetime) -> int:
    """Put a series' values, one per period, the last one at `end`; return how many."""
    data = [
        {
            "MetricName": series.metric,
            "Dimensions": _dimensions(series.dimensions),
            "Timestamp": moment,
            "Value": value,
        }
        for moment, value in series_points(series, end)
    ]
    cloudwatch = client("cloudwatch")
    for start in range(0, len(data), _METRIC_BATCH):
        cloudwatch.put_metric_data(
            Namespace=series.namespace, MetricData=data[start : start + _METRIC_BATCH]
        )
    return len(data)


def put_log_stream(client: ClientFactory, stream: CaseLogStream, zero: datetime) -> int:
    """Write a stream's `(offset, message)` events at `zero + offset`; return how many.

    Creates the group and the stream when missing.
    """
    events = [(zero + timedelta(seconds=offset), message) for offset, message in stream.events]
    _put_events(client("logs"), stream.group, stream.stream, events)
    return len(events)


def seed_changes(client: ClientFactory, world: CaseWorld, anchor: datetime) -> None:
    """Write the case's recent changes as CloudTrail records to `CHANGES_LOG_GROUP`."""
    events = [
        (
            anchor + timedelta(seconds=change.at),
            json.dumps(cloudtrail_record(change, world, anchor)),
        )
        for change in world.changes
    ]
    _put_events(client("logs"), CHANGES_LOG_GROUP, CHANGES_LOG_STREAM, events)


def cloudtrail_record(change: CaseChange, world: CaseWorld, anchor: datetime) -> dict[str, Any]:
    """A CloudTrail-like record of one change, as delivered to CloudWatch Logs."""
    moment = anchor + timedelta(seconds=change.at)
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "eventID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{change.at}:{change.action}")),
        "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": change.action,
        "awsRegion": world.region,
        "recipientAccountId": world.account,
        "userIdentity": _identity(change.actor, world.account),
        "requestParameters": dict(change.detail),
        "readOnly": False,
    }
    source = _event_source(change.action)
    if source is not None:
        record["eventSource"] = source
    if change.resource is not None:
        record["resources"] = [{"resourceName": change.resource}]
    return record


def _identity(actor: str, account: str) -> dict[str, str]:
    """CloudTrail's `userIdentity`: an AWS service principal acts as itself, anyone else as an
    IAM user."""
    if actor.endswith(".amazonaws.com"):
        return {"type": "AWSService", "invokedBy": actor}
    return {
        "type": "IAMUser",
        "userName": actor,
        "accountId": account,
        "arn": f"arn:aws:iam::{account}:user/{actor}",
    }


def seed_ssm_documents(client: ClientFactory, documents_dir: Path) -> list[str]:
    """Register every `*.yaml` in `documents_dir` as a Command document named by its stem."""
    ssm = client("ssm")
    names = []
    for path in sorted(documents_dir.glob("*.yaml")):
        ssm.create_document(
            Name=path.stem,
            Content=path.read_text(encoding="utf-8"),
            DocumentType="Command",
            DocumentFormat="YAML",
        )
        names.append(path.stem)
    return names


def _put_events(
    logs: Any,
    group: str,
    stream: str,
    events: Iterable[tuple[datetime, str]],
) -> None:
    try:
        logs.create_log_group(logGroupName=group)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)
    if not any(s["logStreamName"] == stream for s in streams["logStreams"]):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    batch = [
        {"timestamp": int(moment.timestamp() * 1000), "message": message}
        for moment, message in sorted(events, key=lambda event: event[0])
    ]
    if batch:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)


def _event_source(action: str) -> str | None:
    for suffix, source in _EVENT_SOURCES.items():
        if action.endswith(suffix) or action.endswith(suffix + "s"):
            return source
    return None


def _dimensions(dimensions: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in dimensions.items()]
