"""Build `CloudWatch Alarm State Change` events as CloudWatch sends them to EventBridge."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from healer.cases import CaseAlarm, CaseSeries

_PHRASES = {
    "GreaterThanThreshold": "greater than",
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}

Datapoint = tuple[datetime, float]


def aws_timestamp(moment: datetime) -> str:
    """Format like CloudWatch state timestamps: `2019-10-02T17:04:40.989+0000`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def event_time(moment: datetime) -> str:
    """Format like an EventBridge envelope `time`: `2019-10-02T17:04:40Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def alarm_arn(region: str, account: str, name: str) -> str:
    """The ARN of a CloudWatch alarm."""
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def series_points(series: CaseSeries, end: datetime) -> list[Datapoint]:
    """Timestamp a series' values, one per period, the last one at `end`."""
    count = len(series.values)
    return [
        (end - timedelta(seconds=series.period * (count - 1 - index)), float(value))
        for index, value in enumerate(series.values)
    ]


def alarm_datapoints(
    alarm: CaseAlarm, metrics: list[CaseSeries], anchor: datetime, until: datetime
) -> list[Datapoint]:
    """The seeded datapoints of the alarm's metric up to `until`, oldest first."""
    points: list[Datapoint] = []
    for series in metrics:
        if series.same_metric(alarm.namespace, alarm.metric, alarm.dimensions):
            points.extend(p for p in series_points(series, anchor) if p[0] <= until)
    return sorted(points)


def state_reason(
    alarm: CaseAlarm, state: str, datapoints: list[Datapoint], query_time: datetime
) -> tuple[str, str]:
    """The `reason` text and the `reasonData` JSON string of a state change.

    Args:
        alarm: The alarm's configuration.
        state: The new state (`ALARM`, `OK` or `INSUFFICIENT_DATA`).
        datapoints: The metric's datapoints, oldest first; the newest ones are evaluated.
        query_time: When the alarm was evaluated.
    """
    wanted = alarm.evaluation_periods if state == "ALARM" else 1
    recent = datapoints[-wanted:] if state != "INSUFFICIENT_DATA" else []
    start = recent[0][0] if recent else query_time - timedelta(seconds=alarm.period * wanted)
    reason_data = {
        "version": "1.0",
        "queryDate": aws_timestamp(query_time),
        "startDate": aws_timestamp(start),
        "statistic": alarm.statistic,
        "period": alarm.period,
        "recentDatapoints": [value for _, value in recent],
        "threshold": alarm.threshold,
    }
    return _reason_text(alarm, state, recent, wanted), json.dumps(
        reason_data, separators=(",", ":")
    )


def _reason_text(alarm: CaseAlarm, state: str, recent: list[Datapoint], wanted: int) -> str:
    if state == "INSUFFICIENT_DATA":
        return f"Insufficient Data: {wanted} datapoint{'s' if wanted > 1 else ''} were unknown."
    threshold = f"({float(alarm.threshold)})"
    phrase = _PHRASES[alarm.comparison]
    previous = "OK" if state == "ALARM" else "ALARM"
    plural = "s" if wanted > 1 else ""
    minimum = f"(minimum {wanted} datapoint{plural} for {previous} -> {state} transition)"
    if not recent:
        treated = "Breaching" if state == "ALARM" else "NonBreaching"
        return (
            f"Threshold Crossed: no datapoints were received for {wanted} periods and "
            f"{wanted} missing datapoints were treated as [{treated}]."
        )
    shown = ", ".join(
        f"{value} ({moment.strftime('%d/%m/%y %H:%M:%S')})" for moment, value in reversed(recent)
    )
    verb = "were" if len(recent) > 1 else "was"
    negation = "" if state == "ALARM" else "not "
    return (
        f"Threshold Crossed: {len(recent)} out of the last {len(recent)} datapoints [{shown}] "
        f"{verb} {negation}{phrase} the threshold {threshold} {minimum}."
    )


def build_alarm_event(
    alarm: CaseAlarm,
    *,
    region: str,
    account: str,
    metrics: list[CaseSeries],
    anchor: datetime,
    at: float = 0,
    state: str = "ALARM",
) -> dict[str, Any]:
    """The EventBridge event CloudWatch emits when a single-metric alarm changes state.

    Args:
        alarm: The alarm's configuration.
        region: The account's region.
        account: The 12-digit account id.
        metrics: The seeded metric series; the alarm's own series gives `recentDatapoints`.
        anchor: The moment of offset 0.
        at: Offset of the state change, in seconds from the anchor.
        state: The new state.
    """
    moment = anchor + timedelta(seconds=at)
    arn = alarm_arn(region, account, alarm.name)
    before = moment - timedelta(seconds=alarm.period * alarm.evaluation_periods)
    previous_value = "OK" if state != "OK" else "ALARM"
    previous_reason, previous_data = state_reason(
        alarm, previous_value, alarm_datapoints(alarm, metrics, anchor, before), before
    )
    reason, reason_data = state_reason(
        alarm, state, alarm_datapoints(alarm, metrics, anchor, moment), moment
    )
    configuration: dict[str, Any] = {
        "metrics": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, arn)),
                "metricStat": {
                    "metric": {
                        "dimensions": dict(alarm.dimensions),
                        "name": alarm.metric,
                        "namespace": alarm.namespace,
                    },
                    "period": alarm.period,
                    "stat": alarm.statistic,
                },
                "returnData": True,
            }
        ]
    }
    if alarm.description is not None:
        configuration = {"description": alarm.description, **configuration}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": event_time(moment),
        "region": region,
        "resources": [arn],
        "detail": {
            "alarmName": alarm.name,
            "configuration": configuration,
            "previousState": {
                "reason": previous_reason,
                "reasonData": previous_data,
                "timestamp": aws_timestamp(before),
                "value": previous_value,
            },
            "state": {
                "reason": reason,
                "reasonData": reason_data,
                "timestamp": aws_timestamp(moment),
                "value": state,
            },
        },
    }
