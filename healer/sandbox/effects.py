"""How the sandbox world reacts to a healer action: the case's `effects`.

SSM commands run nothing in moto, so the sandbox applies what the case says the action does.
An action with no matching effect changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from healer.cases import Case, CaseEffect, CaseSeries
from healer.errors import CaseError
from healer.sandbox.alarm_events import state_reason
from healer.sandbox.seed_telemetry import put_log_stream, put_series

ClientFactory = Callable[[str], Any]


def matching_effects(
    case: Case, action: str, target: str, params: dict[str, Any]
) -> list[CaseEffect]:
    """The case's effects whose `when` matches an action.

    The action must be equal; `when.target`, if given, must equal the target; `when.params`, if
    given, must be a subset of the action's parameters (equal values).
    """
    matches = []
    for effect in case.effects:
        when = effect.when
        if when.action.value != action:
            continue
        if when.target is not None and when.target != target:
            continue
        if when.params is not None and any(
            key not in params or params[key] != value for key, value in when.params.items()
        ):
            continue
        matches.append(effect)
    return matches


def apply_effects(
    client: ClientFactory,
    case: Case,
    anchor: datetime,
    now: datetime,
    action: str,
    target: str,
    params: dict[str, Any],
) -> list[str]:
    """Apply the effects of an action to the sandbox account.

    Metric values are appended one per period, the first at `now` but no earlier than one
    period after the anchor (so it does not share a period with the last seeded value); log
    events land at `now + offset`; alarms are set to the given states.

    Returns:
        Human-readable descriptions of the changes; empty when no effect matched.
    """
    changes: list[str] = []
    for effect in matching_effects(case, action, target, params):
        appended = [_with_world_period(case, series) for series in effect.then.metrics]
        for series in appended:
            start = max(now, anchor + timedelta(seconds=series.period))
            end = start + timedelta(seconds=series.period * (len(series.values) - 1))
            count = put_series(client, series, end)
            changes.append(f"metric {series.namespace}/{series.metric}: {count} value(s) appended")
        for stream in effect.then.logs:
            count = put_log_stream(client, stream, now)
            changes.append(f"log {stream.group}/{stream.stream}: {count} event(s) appended")
        for name, state in effect.then.alarms.items():
            _set_alarm(client, case, name, state.value, appended, anchor, now)
            changes.append(f"alarm {name} -> {state.value}")
    return changes


def _set_alarm(
    client: ClientFactory,
    case: Case,
    name: str,
    state: str,
    appended: list[CaseSeries],
    anchor: datetime,
    now: datetime,
) -> None:
    alarm = case.world.alarm(name)
    if alarm is None:
        raise CaseError(f"$.effects: alarm {name!r} is not in the world")
    points = [
        (max(now, anchor + timedelta(seconds=series.period)), float(series.values[0]))
        for series in appended
        if series.same_metric(alarm.namespace, alarm.metric, alarm.dimensions)
    ]
    reason, reason_data = state_reason(alarm, state, points, now)
    client("cloudwatch").set_alarm_state(
        AlarmName=name, StateValue=state, StateReason=reason, StateReasonData=reason_data
    )


def _with_world_period(case: Case, series: CaseSeries) -> CaseSeries:
    """An effect series without its own period takes the period of the same world series."""
    if "period" in series.model_fields_set:
        return series
    for known in case.world.metrics:
        if known.same_metric(series.namespace, series.metric, series.dimensions):
            return series.model_copy(update={"period": known.period})
    return series
