"""The EventBridge alarm state-change parser: the AWS samples parse, everything else is rejected."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healer.domain import AlarmEvent, AlarmKind, AlarmState, MetricRef
from healer.errors import EventRejected
from healer.events import parse_alarm_event

FIXTURES = Path(__file__).parent / "fixtures" / "alarm_events"
KINDS = ("metric", "metric_math", "anomaly_detection", "composite")


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def rejected_field(raw: object) -> str:
    with pytest.raises(EventRejected) as caught:
        parse_alarm_event(raw)
    return caught.value.field


# --------------------------------------------------------------------------- the four AWS samples


def test_single_metric_alarm() -> None:
    event = parse_alarm_event(load("metric"))

    assert event.kind is AlarmKind.METRIC
    assert event.state is AlarmState.ALARM
    assert event.previous_state is AlarmState.OK
    assert event.alarm_name == "ServerCpuTooHigh"
    assert event.alarm_arn == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"
    assert (event.event_id, event.account, event.region) == (
        "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "123456789012",
        "us-east-1",
    )
    assert event.time == datetime(2019, 10, 2, 17, 4, 40, tzinfo=UTC)
    assert event.state_timestamp == datetime(2019, 10, 2, 17, 4, 40, 989000, tzinfo=UTC)
    assert event.reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints")
    assert event.reason_data["recentDatapoints"] == [99.50160229693434]
    assert event.reason_data["threshold"] == 50.0
    assert event.description == "Goes into alarm when server CPU utilization is too high!"
    assert event.dimensions == {"InstanceId": "i-12345678901234567"}
    assert event.metrics == (
        MetricRef(
            id="30b6c6b2-a864-43a2-4877-c09a1afc3b87",
            namespace="AWS/EC2",
            name="CPUUtilization",
            dimensions={"InstanceId": "i-12345678901234567"},
            stat="Average",
            period=300,
            return_data=True,
        ),
    )
    assert event.alarm_rule is None
    assert event.triggering_alarms == ()


def test_metric_math_alarm() -> None:
    event = parse_alarm_event(load("metric_math"))

    assert event.kind is AlarmKind.METRIC_MATH
    assert event.state is AlarmState.ALARM
    assert event.previous_state is AlarmState.INSUFFICIENT_DATA
    assert event.reason_data["recentDatapoints"] == [45628.0]
    assert [(m.id, m.expression, m.name, m.return_data) for m in event.metrics] == [
        ("e1", "SUM(METRICS())", None, True),
        ("m1", None, "NetworkIn", False),
        ("m2", None, "NetworkOut", False),
    ]
    assert event.metrics[1].stat == "Maximum"
    assert event.dimensions == {"InstanceId": "i-12345678901234567"}


def test_anomaly_detection_alarm() -> None:
    event = parse_alarm_event(load("anomaly_detection"))

    assert event.kind is AlarmKind.ANOMALY_DETECTION
    assert event.alarm_name == "EC2 CPU Utilization Anomaly"
    assert event.state is AlarmState.ALARM
    assert event.previous_state is AlarmState.OK
    assert event.reason_data["recentDatapoints"] == [0.0]
    assert event.reason_data["recentUpperThresholds"] == [0.3006915352732461]
    assert event.metrics[1].expression == "ANOMALY_DETECTION_BAND(m1, 0.8)"
    assert event.metrics[0].period == 60
    assert event.dimensions == {"InstanceId": "i-12345678901234567"}


def test_composite_alarm() -> None:
    event = parse_alarm_event(load("composite"))

    assert event.kind is AlarmKind.COMPOSITE
    assert event.state is AlarmState.ALARM
    assert event.previous_state is AlarmState.OK
    assert event.alarm_rule == "ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)"
    assert event.triggering_alarms == (
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh",
    )
    assert event.metrics == ()
    assert event.dimensions == {}
    assert event.state_timestamp == datetime(2022, 7, 22, 15, 57, 45, 394000, tzinfo=UTC)


def test_a_metric_alarm_with_an_expression_is_metric_math_not_anomaly_detection() -> None:
    raw = load("anomaly_detection")
    raw["detail"]["configuration"]["metrics"][1]["expression"] = "m1 * 2"

    assert parse_alarm_event(raw).kind is AlarmKind.METRIC_MATH


@pytest.mark.parametrize("name", KINDS)
def test_json_text_and_bytes_parse_like_the_dict(name: str) -> None:
    text = (FIXTURES / f"{name}.json").read_text()

    assert parse_alarm_event(text) == parse_alarm_event(json.loads(text))
    assert parse_alarm_event(text.encode()) == parse_alarm_event(json.loads(text))


def test_previous_state_and_reason_data_are_optional() -> None:
    raw = load("metric")
    del raw["detail"]["previousState"]
    del raw["detail"]["state"]["reasonData"]

    event = parse_alarm_event(raw)

    assert event.previous_state is None
    assert event.reason_data == {}


# --------------------------------------------------------------------------- dedup key


def test_the_same_transition_delivered_twice_has_one_dedup_key() -> None:
    first = load("metric")
    again = load("metric")
    again["id"] = "another-delivery-of-the-same-event"
    again["time"] = "2019-10-02T17:05:10Z"

    assert parse_alarm_event(first).dedup_key == parse_alarm_event(again).dedup_key


def test_a_later_transition_of_the_same_alarm_has_another_dedup_key() -> None:
    first = load("metric")
    later = load("metric")
    later["detail"]["state"]["timestamp"] = "2019-10-02T17:09:40.989+0000"

    assert parse_alarm_event(first).dedup_key != parse_alarm_event(later).dedup_key


def test_the_same_instant_written_in_another_zone_has_the_same_dedup_key() -> None:
    utc = load("metric")
    shifted = load("metric")
    shifted["detail"]["state"]["timestamp"] = "2019-10-02T19:04:40.989+0200"

    assert parse_alarm_event(utc).dedup_key == parse_alarm_event(shifted).dedup_key


# --------------------------------------------------------------------------- malformed events

Edit = Callable[[dict[str, Any]], object]
DELETE = object()
METRIC0 = "detail.configuration.metrics.0"


def _set(path: str, value: object) -> Edit:
    """An edit of the metric sample that sets (or, with value=DELETE, deletes) a dotted path."""

    def edit(raw: dict[str, Any]) -> object:
        *parents, last = path.split(".")
        target: Any = raw
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
        return raw

    return edit


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        pytest.param(_set("detail", DELETE), "detail", id="missing detail"),
        pytest.param(_set("detail", []), "detail", id="detail not an object"),
        pytest.param(_set("detail.state", DELETE), "detail.state", id="missing state"),
        pytest.param(_set("detail.state.value", DELETE), "detail.state.value", id="no value"),
        pytest.param(_set("detail.state.value", "PANIC"), "detail.state.value", id="bad state"),
        pytest.param(_set("detail.state.value", 1), "detail.state.value", id="state a number"),
        pytest.param(
            _set("detail.previousState.value", "ok"),
            "detail.previousState.value",
            id="bad previous state",
        ),
        pytest.param(
            _set("detail.state.reasonData", "{not json"),
            "detail.state.reasonData",
            id="bad reasonData JSON",
        ),
        pytest.param(
            _set("detail.state.reasonData", "[1, 2]"),
            "detail.state.reasonData",
            id="reasonData not an object",
        ),
        pytest.param(
            _set("detail.state.reasonData", {"threshold": 50}),
            "detail.state.reasonData",
            id="reasonData not a string",
        ),
        pytest.param(
            _set("detail.state.timestamp", "yesterday"),
            "detail.state.timestamp",
            id="bad timestamp",
        ),
        pytest.param(
            _set("detail.state.timestamp", "2019-10-02T17:04:40"),
            "detail.state.timestamp",
            id="timestamp without zone",
        ),
        pytest.param(
            _set("detail.state.timestamp", "0001-01-01T00:00:00+0100"),
            "detail.state.timestamp",
            id="timestamp before year 1 in UTC",
        ),
        pytest.param(_set("time", DELETE), "time", id="missing time"),
        pytest.param(
            _set("detail-type", "CloudWatch Alarm Configuration Change"),
            "detail-type",
            id="wrong detail-type",
        ),
        pytest.param(_set("detail-type", DELETE), "detail-type", id="missing detail-type"),
        pytest.param(_set("source", "aws.ec2"), "source", id="wrong source"),
        pytest.param(_set("resources", []), "resources", id="resources empty"),
        pytest.param(_set("resources", DELETE), "resources", id="resources missing"),
        pytest.param(
            _set("resources", ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"]),
            "resources[0]",
            id="resource not an alarm ARN",
        ),
        pytest.param(_set("detail.alarmName", DELETE), "detail.alarmName", id="no alarmName"),
        pytest.param(_set("detail.alarmName", "  "), "detail.alarmName", id="blank alarmName"),
        pytest.param(_set("account", None), "account", id="account null"),
        pytest.param(
            _set("detail.configuration", DELETE), "detail.configuration", id="no configuration"
        ),
        pytest.param(
            _set("detail.configuration.metrics", []),
            "detail.configuration.metrics",
            id="no metrics",
        ),
        pytest.param(
            _set(f"{METRIC0}.metricStat", DELETE),
            "detail.configuration.metrics[0]",
            id="metric without metricStat or expression",
        ),
        pytest.param(
            _set(f"{METRIC0}.metricStat.period", True),
            "detail.configuration.metrics[0].metricStat.period",
            id="period a boolean",
        ),
        pytest.param(
            _set(f"{METRIC0}.metricStat.period", 0),
            "detail.configuration.metrics[0].metricStat.period",
            id="period zero",
        ),
        pytest.param(
            _set(f"{METRIC0}.metricStat.metric.dimensions.InstanceId", 42),
            "detail.configuration.metrics[0].metricStat.metric.dimensions.InstanceId",
            id="dimension value not a string",
        ),
        pytest.param(
            _set(f"{METRIC0}.returnData", "yes"),
            "detail.configuration.metrics[0].returnData",
            id="returnData not a boolean",
        ),
        pytest.param(lambda raw: [raw], "body", id="non-dict"),
        pytest.param(lambda raw: None, "body", id="None"),
        pytest.param(lambda raw: json.dumps(raw)[:-1], "body", id="bad JSON string"),
        pytest.param(lambda raw: b"\xff\xfe\xfa", "body", id="undecodable bytes"),
        pytest.param(lambda raw: '"a JSON string"', "body", id="JSON but not an object"),
    ],
)
def test_a_malformed_event_is_rejected_naming_the_field(edit: Edit, field: str) -> None:
    assert rejected_field(edit(load("metric"))) == field


@pytest.mark.parametrize(
    ("reason_data", "field"),
    [
        ({"triggeringAlarms": "ServerCpuTooHigh"}, "detail.state.reasonData.triggeringAlarms"),
        ({"triggeringAlarms": [{}]}, "detail.state.reasonData.triggeringAlarms[0].arn"),
        ({"triggeringAlarms": ["x"]}, "detail.state.reasonData.triggeringAlarms[0]"),
        (
            {"triggeringAlarms": [{"arn": "ServerCpuTooHigh"}]},
            "detail.state.reasonData.triggeringAlarms[0].arn",
        ),
    ],
)
def test_a_composite_with_bad_triggering_alarms_is_rejected(
    reason_data: dict[str, Any], field: str
) -> None:
    raw = load("composite")
    raw["detail"]["state"]["reasonData"] = json.dumps(reason_data)

    assert rejected_field(raw) == field


def test_a_composite_rule_must_be_a_string() -> None:
    raw = load("composite")
    raw["detail"]["configuration"]["alarmRule"] = None

    assert rejected_field(raw) == "detail.configuration.alarmRule"


def test_a_configuration_change_event_is_out_of_scope() -> None:
    with pytest.raises(EventRejected) as caught:
        parse_alarm_event(load("configuration_change"))

    assert caught.value.field == "detail-type"
    assert "not a CloudWatch Alarm State Change" in caught.value.problem


def test_the_problem_quotes_a_huge_value_only_in_part() -> None:
    raw = load("metric")
    raw["detail"]["state"]["value"] = "X" * 100_000

    with pytest.raises(EventRejected) as caught:
        parse_alarm_event(raw)

    assert len(str(caught.value)) < 300


# --------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def assert_parses_or_rejects(raw: object) -> None:
    try:
        result = parse_alarm_event(raw)
    except EventRejected as exc:
        assert exc.field
    else:
        assert isinstance(result, AlarmEvent)


@given(json_values | st.text() | st.binary())
def test_arbitrary_input_parses_or_is_rejected(raw: object) -> None:
    assert_parses_or_rejects(raw)


@given(
    st.dictionaries(st.sampled_from(["detail", "detail-type", "source", "resources"]), json_values)
)
def test_arbitrary_top_level_fields_parse_or_are_rejected(raw: dict[str, Any]) -> None:
    raw.setdefault("detail-type", "CloudWatch Alarm State Change")
    raw.setdefault("source", "aws.cloudwatch")
    assert_parses_or_rejects(raw)


def paths(tree: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON tree, the root excluded."""
    children: list[tuple[Any, object]] = []
    if isinstance(tree, dict):
        children = list(tree.items())
    elif isinstance(tree, list):
        children = list(enumerate(tree))
    found = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, tree: object) -> object:
    """`tree` with one to three values deleted or replaced by arbitrary JSON values."""
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(tree)
        if not candidates:
            break
        *parents, last = draw(st.sampled_from(candidates))
        target: Any = tree
        for key in parents:
            target = target[key]
        if draw(st.booleans()):
            del target[last]
        else:
            target[last] = draw(json_values)
    return tree


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS).flatmap(lambda name: mutated(load(name))))
def test_a_damaged_sample_parses_or_is_rejected(raw: object) -> None:
    assert_parses_or_rejects(raw)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_reason_data_parses_or_is_rejected(data: st.DataObject) -> None:
    raw = load(data.draw(st.sampled_from(KINDS)))
    reason_data = json.loads(raw["detail"]["state"]["reasonData"])
    raw["detail"]["state"]["reasonData"] = json.dumps(data.draw(mutated(reason_data)))

    assert_parses_or_rejects(raw)
