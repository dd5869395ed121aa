"""CloudWatch adapters: alarm details and state, metric series with their summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from statistics import mean, median
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.errors import ToolInputError, ToolUnavailable

RESOURCE_DIMENSIONS = ("InstanceId", "AutoScalingGroupName", "LoadBalancer", "TargetGroup")
PERIOD_SECONDS = 60  # the resolution metrics are fetched at


def describe_alarms(cloudwatch: Any, names: list[str]) -> list[dict[str, Any]]:
    """The configuration and current state of the named metric alarms."""
    try:
        found = cloudwatch.describe_alarms(AlarmNames=names)
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"describe_alarms failed: {exc}") from exc
    alarms = []
    for alarm in found.get("MetricAlarms", []):
        alarms.append(
            {
                "name": alarm["AlarmName"],
                "state": alarm["StateValue"],
                "reason": alarm.get("StateReason", ""),
                "description": alarm.get("AlarmDescription", ""),
                "namespace": alarm.get("Namespace"),
                "metric": alarm.get("MetricName"),
                "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
                "statistic": alarm.get("Statistic"),
                "period": alarm.get("Period"),
                "evaluation_periods": alarm.get("EvaluationPeriods"),
                "threshold": alarm.get("Threshold"),
                "comparison": alarm.get("ComparisonOperator"),
            }
        )
    for alarm in found.get("CompositeAlarms", []):
        alarms.append(
            {
                "name": alarm["AlarmName"],
                "state": alarm["StateValue"],
                "reason": alarm.get("StateReason", ""),
                "rule": alarm.get("AlarmRule"),
            }
        )
    missing = sorted(set(names) - {a["name"] for a in alarms})
    if missing:
        raise ToolInputError(f"no such alarm: {', '.join(missing)}")
    return alarms


def current_states(cloudwatch: Any, names: list[str]) -> dict[str, str]:
    """The current state of each named alarm that exists (metric or composite), asking
    DescribeAlarms for up to 100 names at a time."""
    states: dict[str, str] = {}
    for start in range(0, len(names), 100):
        try:
            found = cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])
        except (ClientError, BotoCoreError) as exc:
            raise ToolUnavailable(f"describe_alarms failed: {exc}") from exc
        for alarm in [*found.get("MetricAlarms", []), *found.get("CompositeAlarms", [])]:
            states[alarm["AlarmName"]] = alarm["StateValue"]
    return states


def alarm_states(cloudwatch: Any, names: list[str]) -> dict[str, str]:
    """Current state (OK, ALARM, INSUFFICIENT_DATA) of each named alarm."""
    return {alarm["name"]: alarm["state"] for alarm in describe_alarms(cloudwatch, names)}


def resource_metrics(
    cloudwatch: Any,
    dimensions: dict[str, str],
    now: datetime,
    minutes: int = 60,
    namespace: str | None = None,
) -> list[dict[str, Any]]:
    """Every metric published for the given resource dimensions (or, with no dimensions, in
    the namespace), with a summary of each series."""
    metrics: dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    filters: list[dict[str, Any]] = [
        {"Dimensions": [{"Name": name, "Value": value}]} for name, value in dimensions.items()
    ]
    if namespace:
        filters = [f | {"Namespace": namespace} for f in filters] or [{"Namespace": namespace}]
    try:
        for query in filters:
            pages = cloudwatch.get_paginator("list_metrics").paginate(**query)
            for page in pages:
                for metric in page["Metrics"]:
                    dims = tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"]))
                    metrics[(metric["Namespace"], metric["MetricName"], dims)] = metric
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"list_metrics failed: {exc}") from exc
    keys = sorted(metrics)[:40]
    fetched = _fetch_series(cloudwatch, [metrics[k] for k in keys], now, minutes)
    return [
        summarize(namespace, name, dict(dims), [v for _, v in points], _period(points))
        for (namespace, name, dims), points in zip(keys, fetched, strict=True)
    ]


def _period(points: list[tuple[datetime, float]]) -> int:
    """Seconds between a series' points: a metric published every five minutes has gaps in a
    one-minute query, and its points are five minutes apart, not one."""
    gaps = [(b[0] - a[0]).total_seconds() for a, b in pairwise(points[-31:])]
    return int(median(gaps)) if gaps else PERIOD_SECONDS


def _fetch_series(
    cloudwatch: Any, metrics: list[dict[str, Any]], now: datetime, minutes: int
) -> list[list[tuple[datetime, float]]]:
    if not metrics:
        return []
    queries = [
        {
            "Id": f"m{i}",
            "MetricStat": {"Metric": metric, "Period": PERIOD_SECONDS, "Stat": "Average"},
            "ReturnData": True,
        }
        for i, metric in enumerate(metrics)
    ]
    try:
        result = cloudwatch.get_metric_data(
            MetricDataQueries=queries,
            StartTime=now - timedelta(minutes=minutes),
            EndTime=now + timedelta(minutes=1),
            ScanBy="TimestampAscending",
        )
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"get_metric_data failed: {exc}") from exc
    by_id = {r["Id"]: r for r in result["MetricDataResults"]}
    series = []
    for i in range(len(metrics)):
        data = by_id.get(f"m{i}", {"Timestamps": [], "Values": []})
        points = sorted(zip(data["Timestamps"], data["Values"], strict=True))
        series.append([(t, float(v)) for t, v in points])
    return series


def summarize(
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    values: list[float],
    period: int = PERIOD_SECONDS,
) -> dict[str, Any]:
    """A series with the figures that tell a fault apart from noise."""
    if not values:
        return {"namespace": namespace, "metric": metric, "dimensions": dimensions, "values": []}
    baseline = mean(values[: max(1, len(values) // 3)])
    last = values[-1]
    return {
        "namespace": namespace,
        "metric": metric,
        "dimensions": dimensions,
        "values": [round(v, 2) for v in values[-30:]],
        "period": period,
        "baseline": round(baseline, 2),
        "last": round(last, 2),
        "max": round(max(values), 2),
        "min": round(min(values), 2),
        "change_ratio": round(last / baseline, 2) if baseline else None,
    }
