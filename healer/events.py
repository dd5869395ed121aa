"""Parse EventBridge `CloudWatch Alarm State Change` events into `AlarmEvent`s.

Covers single-metric, metric-math, anomaly-detection and composite alarms. Every way an event can
be malformed or out of scope ends in `EventRejected(field, problem)`, where `field` is the dotted
path of the missing or bad field (`detail.state.value`, `resources[0]`, ...); nothing else
escapes, so ingest can record the rejection and move on.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, TypeVar

from healer.domain import AlarmEvent, AlarmKind, AlarmState, MetricRef
from healer.errors import EventRejected

SOURCE = "aws.cloudwatch"
DETAIL_TYPE = "CloudWatch Alarm State Change"

_ALARM_ARN = re.compile(r"arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+")
_ANOMALY_BAND = "ANOMALY_DETECTION_BAND"
_EXPECTED = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "an array",
    dict: "an object",
}

T = TypeVar("T")


def parse_alarm_event(raw: object) -> AlarmEvent:
    """Parse one EventBridge alarm state-change event.

    Args:
        raw: The event as a dict (as Lambda delivers it) or as JSON text (str or bytes).

    Returns:
        The parsed event; timestamps are aware and in UTC.

    Raises:
        EventRejected: The event is malformed or not an alarm state change; `field` is the
            dotted path of the offending field (`body` for the event as a whole).
    """
    event = _decode_body(raw)
    detail_type = _require(event, "detail-type", str)
    if detail_type != DETAIL_TYPE:
        raise EventRejected("detail-type", f"not a {DETAIL_TYPE} event: {_show(detail_type)}")
    source = _require(event, "source", str)
    if source != SOURCE:
        raise EventRejected("source", f"not a {DETAIL_TYPE} event: source is {_show(source)}")

    detail = _require(event, "detail", dict)
    state = _require(detail, "state", dict, at="detail")
    previous = _optional(detail, "previousState", dict, at="detail")
    configuration = _require(detail, "configuration", dict, at="detail")
    reason_data = _reason_data(state)
    if "alarmRule" in configuration:
        alarm_rule: str | None = _require(
            configuration, "alarmRule", str, at="detail.configuration"
        )
        metrics: tuple[MetricRef, ...] = ()
        kind = AlarmKind.COMPOSITE
    else:
        alarm_rule = None
        metrics = _metrics(configuration)
        kind = _metric_kind(metrics)

    return AlarmEvent(
        event_id=_require(event, "id", str),
        account=_require(event, "account", str),
        region=_require(event, "region", str),
        time=_timestamp(event, "time"),
        alarm_arn=_alarm_arn(event),
        alarm_name=_require(detail, "alarmName", str, at="detail"),
        kind=kind,
        state=_state_value(state, "detail.state"),
        previous_state=None if previous is None else _state_value(previous, "detail.previousState"),
        reason=_optional(state, "reason", str, at="detail.state") or "",
        reason_data=reason_data,
        state_timestamp=_timestamp(state, "timestamp", at="detail.state"),
        description=_optional(configuration, "description", str, at="detail.configuration"),
        metrics=metrics,
        alarm_rule=alarm_rule,
        triggering_alarms=_triggering_alarms(reason_data) if alarm_rule is not None else (),
    )


# --------------------------------------------------------------------------- parts of the event


def _decode_body(raw: object) -> dict[str, Any]:
    if isinstance(raw, str | bytes | bytearray):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise EventRejected("body", f"is not valid JSON: {_show(exc)}") from None
    if not isinstance(raw, dict):
        raise EventRejected("body", f"expected a JSON object, got {_json_type(raw)}")
    return raw


def _alarm_arn(event: dict[str, Any]) -> str:
    resources = _require(event, "resources", list)
    if not resources:
        raise EventRejected("resources", "is empty; expected the alarm ARN")
    return _check_arn(resources[0], "resources[0]")


def _state_value(state: dict[str, Any], at: str) -> AlarmState:
    value = _require(state, "value", str, at=at)
    try:
        return AlarmState(value)
    except ValueError:
        allowed = ", ".join(AlarmState)
        raise EventRejected(
            f"{at}.value", f"unknown alarm state {_show(value)}; expected one of {allowed}"
        ) from None


def _reason_data(state: dict[str, Any]) -> dict[str, Any]:
    """Decode `reasonData`, which EventBridge delivers as a JSON string."""
    text = _optional(state, "reasonData", str, at="detail.state")
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise EventRejected("detail.state.reasonData", f"is not valid JSON: {_show(exc)}") from None
    if not isinstance(data, dict):
        raise EventRejected(
            "detail.state.reasonData", f"expected a JSON object, got {_json_type(data)}"
        )
    return data


def _triggering_alarms(reason_data: dict[str, Any]) -> tuple[str, ...]:
    at = "detail.state.reasonData.triggeringAlarms"
    alarms = _optional(reason_data, "triggeringAlarms", list, at="detail.state.reasonData") or []
    arns = []
    for index, alarm in enumerate(alarms):
        entry = _check(alarm, dict, f"{at}[{index}]")
        arn = _require(entry, "arn", str, at=f"{at}[{index}]")
        arns.append(_check_arn(arn, f"{at}[{index}].arn"))
    return tuple(arns)


def _metrics(configuration: dict[str, Any]) -> tuple[MetricRef, ...]:
    at = "detail.configuration.metrics"
    items = _require(configuration, "metrics", list, at="detail.configuration")
    if not items:
        raise EventRejected(at, "is empty; a metric alarm watches at least one metric")
    return tuple(_metric(item, f"{at}[{index}]") for index, item in enumerate(items))


def _metric(item: object, at: str) -> MetricRef:
    entry = _check(item, dict, at)
    expression = _optional(entry, "expression", str, at=at)
    metric_stat = _optional(entry, "metricStat", dict, at=at)
    if expression is None and metric_stat is None:
        raise EventRejected(at, "has neither metricStat nor expression")
    return_data = _optional(entry, "returnData", bool, at=at)
    fields: dict[str, Any] = {}
    if metric_stat is not None:
        stat_at = f"{at}.metricStat"
        metric = _require(metric_stat, "metric", dict, at=stat_at)
        period = _require(metric_stat, "period", int, at=stat_at)
        if period <= 0:
            raise EventRejected(f"{stat_at}.period", f"must be positive, got {period}")
        fields = {
            "namespace": _optional(metric, "namespace", str, at=f"{stat_at}.metric"),
            "name": _optional(metric, "name", str, at=f"{stat_at}.metric"),
            "dimensions": _dimensions(metric, f"{stat_at}.metric"),
            "stat": _require(metric_stat, "stat", str, at=stat_at),
            "period": period,
        }
    return MetricRef(
        id=_require(entry, "id", str, at=at),
        expression=expression,
        return_data=True if return_data is None else return_data,
        **fields,
    )


def _dimensions(metric: dict[str, Any], at: str) -> dict[str, str]:
    dimensions = _optional(metric, "dimensions", dict, at=at) or {}
    return {
        str(name): _check(value, str, f"{at}.dimensions.{name}")
        for name, value in dimensions.items()
    }


def _metric_kind(metrics: tuple[MetricRef, ...]) -> AlarmKind:
    expressions = [metric.expression for metric in metrics if metric.expression is not None]
    if any(expression.lstrip().startswith(_ANOMALY_BAND) for expression in expressions):
        return AlarmKind.ANOMALY_DETECTION
    return AlarmKind.METRIC_MATH if expressions else AlarmKind.METRIC


def _timestamp(obj: dict[str, Any], key: str, at: str = "") -> datetime:
    """An ISO 8601 timestamp with a zone ("...40.989+0000", "...40Z"), normalised to UTC."""
    field = _path(at, key)
    text = _require(obj, key, str, at=at)
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise EventRejected(field, f"has no time zone: {_show(text)}")
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise EventRejected(field, f"is not an ISO 8601 timestamp: {_show(text)}") from None


def _check_arn(value: object, field: str) -> str:
    if not isinstance(value, str) or not _ALARM_ARN.fullmatch(value):
        raise EventRejected(field, f"is not a CloudWatch alarm ARN: {_show(value)}")
    return value


# --------------------------------------------------------------------------- field access


def _require(obj: dict[str, Any], key: str, expected: type[T], at: str = "") -> T:
    """Return `obj[key]`, which must be present, non-blank and of type `expected`.

    `at` is the dotted path of `obj` itself, so that errors name the full path of the field.
    """
    field = _path(at, key)
    if key not in obj:
        raise EventRejected(field, "is missing")
    value = _check(obj[key], expected, field)
    if isinstance(value, str) and not value.strip():
        raise EventRejected(field, "is empty")
    return value


def _optional(obj: dict[str, Any], key: str, expected: type[T], at: str = "") -> T | None:
    """Return `obj[key]` if present and not null; it must then be of type `expected`."""
    value = obj.get(key)
    return None if value is None else _check(value, expected, _path(at, key))


def _check(value: object, expected: type[T], field: str) -> T:
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise EventRejected(field, f"expected {_EXPECTED[expected]}, got {_json_type(value)}")
    return value


def _path(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    for kind, name in _EXPECTED.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _show(value: object, limit: int = 80) -> str:
    """A bounded repr for error messages: events are untrusted and may be huge."""
    text = repr(value) if not isinstance(value, Exception) else str(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
