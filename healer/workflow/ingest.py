"""Ingest: parse, filter, dedup and correlate an alarm event into an incident.

Every event is accepted or dropped with a recorded reason; nothing is silently lost.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from healer.domain import AlarmEvent, AlarmState, Incident
from healer.errors import ConcurrentUpdate, EventRejected
from healer.events import parse_alarm_event
from healer.workflow.services import Services
from tools.cloudwatch import current_states
from tools.fleet import asg_of_instance

log = logging.getLogger(__name__)

INGEST_TRAIL = "ingest"
"""The audit trail of events that opened no incident (rejected, suppressed)."""
SAVE_ATTEMPTS = 5

Status = Literal["opened", "correlated", "duplicate", "rejected", "suppressed"]


class IngestResult(BaseModel):
    status: Status
    reason: str
    incident_id: str | None = None
    alarm: str | None = None
    dedup_key: str | None = None


def new_incident_id(now: datetime) -> str:
    return f"inc-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


class AlarmStates:
    """The current state of alarms, asked of CloudWatch 100 names per call and remembered: one
    batch of a storm costs a few DescribeAlarms calls, not one per event."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch
        self._known: dict[str, str | None] = {}

    def prefetch(self, names: list[str]) -> None:
        wanted = [name for name in dict.fromkeys(names) if name not in self._known]
        if wanted:
            found = current_states(self._cloudwatch, wanted)
            self._known |= {name: found.get(name) for name in wanted}

    def get(self, name: str) -> str | None:
        """The alarm's state, or None when it does not exist."""
        self.prefetch([name])
        return self._known[name]


def ingest(services: Services, raw: Any, states: AlarmStates | None = None) -> IngestResult:
    """Turn one delivered event into an incident (new or existing), or record why not.

    `states` remembers alarm states across a batch (default: asked afresh for this event).
    """
    store = services.store
    try:
        event = parse_alarm_event(raw)
    except EventRejected as exc:
        body = raw if isinstance(raw, dict) else {"body": str(raw)[:10_000]}
        store.record(None, "rejected", str(exc), None, body)
        store.append(INGEST_TRAIL, "event_rejected", "system:ingest", {"reason": str(exc)})
        log.warning("event rejected: %s", exc)
        return IngestResult(status="rejected", reason=str(exc))
    key = dedup_key(services, event)
    if store.seen(key):
        return _duplicate(services, event, key, raw)
    noise = services.noise
    transitions = store.note_transition(
        _in_world(services, event.alarm_arn), event.state_timestamp, noise.flap_window
    )
    drop = _drop_reason(event, states or AlarmStates(services.aws.cloudwatch))
    resources = [] if drop else resources_of(services, event)
    drop = (
        drop
        or noise.suppressed(event.alarm_name, resources, event.state_timestamp)
        or noise.flapping(event.alarm_name, transitions)
    )
    if drop:
        store.record(key, "suppressed", drop, None, _as_dict(raw))
        store.append(
            INGEST_TRAIL,
            "alarm_suppressed",
            "system:ingest",
            {"alarm": event.alarm_name, "dedup_key": key, "reason": drop},
        )
        return IngestResult(status="suppressed", reason=drop, alarm=event.alarm_name, dedup_key=key)
    for _ in range(SAVE_ATTEMPTS):
        incident, joined = _open_or_join(services, event, resources)
        kind = "alarm_correlated" if joined else "incident_opened"
        data: dict[str, Any] = {
            "alarm": event.alarm_name,
            "dedup_key": key,
            "reason": event.reason,
        }
        if not joined:
            data |= {"alarm_kind": event.kind.value, "resources": resources}
        try:
            fresh = store.accept_event(
                key,
                "correlated" if joined else "opened",
                _as_dict(raw),
                incident,
                kind,
                data,
            )
        except ConcurrentUpdate:
            continue  # another delivery changed the incident first: read it again
        if not fresh:
            return IngestResult(
                status="duplicate",
                reason=f"already received ({event.dedup_key})",
                alarm=event.alarm_name,
                dedup_key=key,
            )
        return IngestResult(
            status="correlated" if joined else "opened",
            reason=f"joined open incident {incident.id}" if joined else "new incident",
            incident_id=incident.id,
            alarm=event.alarm_name,
            dedup_key=key,
        )
    raise ConcurrentUpdate(f"{key}: the incident kept changing; delivery not taken")


def dedup_key(services: Services, event: AlarmEvent) -> str:
    """The event's identity: its alarm and state change, within a sandbox world its own (the
    same recorded event replayed into two sandboxes is two deliveries, not a duplicate)."""
    return _in_world(services, event.dedup_key)


def _in_world(services: Services, key: str) -> str:
    return f"{services.world}|{key}" if services.world else key


def _duplicate(services: Services, event: AlarmEvent, key: str, raw: Any) -> IngestResult:
    services.store.record(key, "duplicate", "already received", None, _as_dict(raw))
    return IngestResult(
        status="duplicate",
        reason=f"already received ({event.dedup_key})",
        alarm=event.alarm_name,
        dedup_key=key,
    )


def _open_or_join(
    services: Services, event: AlarmEvent, resources: list[str]
) -> tuple[Incident, bool]:
    """The open incident this alarm joins (updated, not saved), or a new one."""
    store, now = services.store, services.clock()
    world = services.world or f"{event.account}/{event.region}"
    since = now - timedelta(seconds=services.correlation_window_seconds)
    incident = store.find_open_for(resources, since, world) if resources else None
    if incident is None:
        latest = store.latest_open(since, world)
        # an alarm naming no instance or group joins the newest open incident; an incident whose
        # resources are still unknown (it began with such an alarm) absorbs the next alarm
        if latest is not None and (not _resolvable(event) or not latest.resources):
            incident = latest
    if incident is not None:
        incident.alarms = _merge(incident.alarms, [event.alarm_name])
        incident.resources = _merge(incident.resources, resources)
        return incident, True
    return (
        Incident(
            id=new_incident_id(now),
            opened_at=now,
            account=event.account,
            region=event.region,
            alarms=[event.alarm_name],
            resources=resources,
            world=world,
            runtime=dict(services.runtime),
        ),
        False,
    )


def _drop_reason(event: AlarmEvent, states: AlarmStates) -> str | None:
    if event.state != AlarmState.ALARM:
        return f"transition to {event.state} is not an alarm"
    state = states.get(event.alarm_name)
    if state is None:
        return f"alarm {event.alarm_name} does not exist in this account"
    if state != AlarmState.ALARM:
        return f"stale: alarm {event.alarm_name} is {state} now"
    return None


def _resolvable(event: AlarmEvent) -> bool:
    dims = event.dimensions
    return "InstanceId" in dims or "AutoScalingGroupName" in dims


def resources_of(services: Services, event: AlarmEvent) -> list[str]:
    """Instances, groups, load balancers and target groups the alarm is about (an instance
    brings its group): alarms sharing one correlate into one incident."""
    dims = event.dimensions
    found = []
    if "InstanceId" in dims:
        found.append(dims["InstanceId"])
        group = asg_of_instance(services.aws.autoscaling, dims["InstanceId"])
        if group:
            found.append(group)
    for name in ("AutoScalingGroupName", "LoadBalancer", "TargetGroup"):
        if name in dims:
            found.append(dims[name])
    return _merge([], found)


def _merge(existing: list[str], new: list[str]) -> list[str]:
    return existing + [item for item in new if item not in existing]


def _as_dict(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {"body": str(raw)[:10_000]}
