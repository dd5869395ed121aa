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
from healer.errors import EventRejected, ToolInputError
from healer.events import parse_alarm_event
from healer.workflow.services import Services
from tools.cloudwatch import alarm_states
from tools.fleet import asg_of_instance

log = logging.getLogger(__name__)

Status = Literal["opened", "correlated", "duplicate", "rejected", "suppressed"]


class IngestResult(BaseModel):
    status: Status
    reason: str
    incident_id: str | None = None
    alarm: str | None = None


def new_incident_id(now: datetime) -> str:
    return f"inc-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def ingest(services: Services, raw: Any) -> IngestResult:
    """Turn one delivered event into an incident (new or existing), or record why not."""
    store = services.store
    try:
        event = parse_alarm_event(raw)
    except EventRejected as exc:
        body = raw if isinstance(raw, dict) else {"body": str(raw)[:10_000]}
        store.record(None, "rejected", str(exc), None, body)
        log.warning("event rejected: %s", exc)
        return IngestResult(status="rejected", reason=str(exc))
    if store.seen(event.dedup_key):
        store.record(event.dedup_key, "duplicate", "already received", None, _as_dict(raw))
        return IngestResult(
            status="duplicate",
            reason=f"already received ({event.dedup_key})",
            alarm=event.alarm_name,
        )
    drop = _drop_reason(services, event)
    if drop:
        store.record(event.dedup_key, "suppressed", drop, None, _as_dict(raw))
        return IngestResult(status="suppressed", reason=drop, alarm=event.alarm_name)

    now = services.clock()
    world = services.world or f"{event.account}/{event.region}"
    resources = resources_of(services, event)
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
        store.save(incident)
        store.append(
            incident.id,
            "alarm_correlated",
            "system:ingest",
            {"alarm": event.alarm_name, "dedup_key": event.dedup_key, "reason": event.reason},
        )
        store.record(event.dedup_key, "accepted", "correlated", incident.id, _as_dict(raw))
        return IngestResult(
            status="correlated",
            reason=f"joined open incident {incident.id}",
            incident_id=incident.id,
            alarm=event.alarm_name,
        )
    incident = Incident(
        id=new_incident_id(now),
        opened_at=now,
        account=event.account,
        region=event.region,
        alarms=[event.alarm_name],
        resources=resources,
        world=world,
        runtime=dict(services.runtime),
    )
    store.save(incident)
    store.append(
        incident.id,
        "incident_opened",
        "system:ingest",
        {
            "alarm": event.alarm_name,
            "alarm_kind": event.kind.value,
            "dedup_key": event.dedup_key,
            "reason": event.reason,
            "resources": resources,
        },
    )
    store.record(event.dedup_key, "accepted", "opened", incident.id, _as_dict(raw))
    return IngestResult(
        status="opened", reason="new incident", incident_id=incident.id, alarm=event.alarm_name
    )


def _drop_reason(services: Services, event: AlarmEvent) -> str | None:
    if event.state != AlarmState.ALARM:
        return f"transition to {event.state} is not an alarm"
    try:
        state = alarm_states(services.aws.cloudwatch, [event.alarm_name])[event.alarm_name]
    except ToolInputError:
        return f"alarm {event.alarm_name} does not exist in this account"
    if state != AlarmState.ALARM:
        return f"stale: alarm {event.alarm_name} is {state} now"
    return None


def _resolvable(event: AlarmEvent) -> bool:
    dims = event.dimensions
    return "InstanceId" in dims or "AutoScalingGroupName" in dims


def resources_of(services: Services, event: AlarmEvent) -> list[str]:
    """Instances and groups the alarm is about (an instance brings its group)."""
    dims = event.dimensions
    found = []
    if "InstanceId" in dims:
        found.append(dims["InstanceId"])
        group = asg_of_instance(services.aws.autoscaling, dims["InstanceId"])
        if group:
            found.append(group)
    if "AutoScalingGroupName" in dims:
        found.append(dims["AutoScalingGroupName"])
    return _merge([], found)


def _merge(existing: list[str], new: list[str]) -> list[str]:
    return existing + [item for item in new if item not in existing]


def _as_dict(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {"body": str(raw)[:10_000]}
