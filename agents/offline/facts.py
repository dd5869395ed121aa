"""Facts from AWS that settle an incident before any runbook is weighed, and the patterns
(zonal, capacity) that only the fleet's shape shows."""

from __future__ import annotations

import json
from typing import Any

from agents.offline.evidence import RECENT_CHANGE_SECONDS, Evidence, parse_time, quote_log
from knowledge_base.signatures import default_signatures

PLANNED_CHANGE_KEYS = ("WindowId", "WindowTaskId", "MaintenanceWindow")
PLANNED_WITHIN_SECONDS = RECENT_CHANGE_SECONDS
CPU_HOT = 80.0
LOAD_ALARMS = ("CPU", "cpu_", "Network", "net_", "diskio", "EBS", "Disk", "Volume")
JOB_NEAR_ONSET_SECONDS = 15 * 60
NOISY_METRICS = ("count", "error", "5xx", "4xx", "fault", "warn")


def no_fault(summary: str, evidence_lines: list[str], confidence: float) -> dict[str, Any]:
    return {
        "category": "no_fault",
        "summary": summary,
        "resources": [],
        "evidence": evidence_lines,
        "confidence": confidence,
        "runbook_id": None,
        "proposed_action": None,
        "recommendation": "no_action",
    }


def nothing_to_do(evidence: Evidence) -> dict[str, Any] | None:
    """`no_action` when the facts say there is nothing to heal: every alarm is back to OK, the
    alarmed instances are already gone, or a planned maintenance explains the symptoms."""
    return (
        _recovered(evidence)
        or _target_gone(evidence)
        or _planned(evidence)
        or _scheduled_job(evidence)
        or _steady_noise(evidence)
    )


def _recovered(evidence: Evidence) -> dict[str, Any] | None:
    if not evidence.alarms or any(a.get("state") != "OK" for a in evidence.alarms):
        return None
    names = ", ".join(a["name"] for a in evidence.alarms)
    return no_fault(
        f"No fault to heal: {names} returned to OK without any action (a transient breach or a "
        "flapping alarm). Watch for recurrence; tune the alarm if it flaps.",
        [f"alarm {a['name']} is OK now: {a.get('reason', '')}"[:300] for a in evidence.alarms],
        0.8,
    )


def _target_gone(evidence: Evidence) -> dict[str, Any] | None:
    """Every instance the alarms name no longer exists or is terminated, and no group is
    alarmed: the fleet already replaced it (Auto Scaling) or someone retired it."""
    alarmed = evidence.alarm_resources()
    instances = [r for r in alarmed if r.startswith("i-")]
    if not instances or len(instances) != len(alarmed):
        return None
    states = {i: evidence.instances.get(i, {}).get("state") for i in instances}
    if any(state not in (None, "terminated", "shutting-down") for state in states.values()):
        return None
    if any(i not in evidence.instances and i not in evidence.missing for i in instances):
        return None  # not described at all: no fact either way
    lines = [f"instance {i} is {states[i] or 'not found'}" for i in instances]
    lines += [
        f"change: {c.get('action')} on {', '.join(map(str, c.get('resources') or []))} "
        f"by {c.get('actor')} at {c.get('time')}"
        for c in evidence.changes
        if set(c.get("resources") or []) & set(instances)
    ][-2:]
    return no_fault(
        f"No fault to heal: {', '.join(instances)} no longer runs (terminated); its alarm "
        "watches a resource that is gone. Delete or retarget the alarm.",
        lines,
        0.8,
    )


def _planned(evidence: Evidence) -> dict[str, Any] | None:
    """A maintenance-window or patch run on the alarmed resources just before the onset, and
    nothing in the logs but the maintenance itself."""
    if evidence.faults() - {"health_check_failed", "timeout", "connection_refused"}:
        return None
    scope = set(evidence.alarm_resources()) | {
        i for g in evidence.groups.values() for i in g.get("instances", [])
    }
    library = default_signatures()
    planned = [
        c
        for c in evidence.changes_since_onset_window(PLANNED_WITHIN_SECONDS)
        if (set(c.get("resources") or []) & scope or not c.get("resources"))
        and _is_planned(c, library)
    ]
    reboot_lines = [
        e
        for e in evidence.signals.get("planned_reboot", [])
        if any(r in e.get("stream", "") for r in scope)
    ]
    if not planned and not reboot_lines:
        return None
    lines = [
        f"change: {c.get('action')} on {', '.join(map(str, c.get('resources') or []))} "
        f"by {c.get('actor')} at {c.get('time')}"
        for c in planned[-2:]
    ]
    lines += [quote_log(e) for e in reboot_lines[-2:]]
    return no_fault(
        "No fault to heal: planned maintenance (a patch run or maintenance window) on the "
        "alarmed resources explains the symptoms; they should clear when it ends. Check again "
        "if the alarm stays in ALARM after the window.",
        lines,
        0.75,
    )


def _scheduled_job(evidence: Evidence) -> dict[str, Any] | None:
    """A scheduled job (cron, a systemd timer) started on the alarmed hosts shortly before a
    load alarm (CPU, network, disk I/O), and the logs show no fault."""
    onset = evidence.onset()
    metrics = [str(a.get("metric") or "") for a in evidence.alarms]
    if onset is None or evidence.faults() or not all(m.startswith(LOAD_ALARMS) for m in metrics):
        return None
    scope = [r for r in evidence.alarm_resources() if r.startswith("i-")] or list(
        evidence.instances
    )
    starts = [
        e
        for e in evidence.signals.get("scheduled_job", [])
        if any(r in e.get("stream", "") for r in scope)
        and abs((_time(e) - onset).total_seconds()) <= JOB_NEAR_ONSET_SECONDS
    ]
    if not starts:
        return None
    return no_fault(
        "No fault to heal: a scheduled job started on the alarmed host just before the load "
        "rose, and nothing in the logs reports a failure; the load should fall when the job "
        "ends. If it runs every time, move it or tune the alarm.",
        [quote_log(e) for e in starts[-2:]],
        0.7,
    )


def _steady_noise(evidence: Evidence) -> dict[str, Any] | None:
    """Error-count alarms whose series sits at its usual level, with fault lines at the rate
    they always have: the threshold is inside normal behaviour, nothing broke."""
    alarms = [a for a in evidence.alarms if a.get("state") == "ALARM"]
    if not alarms or evidence.impaired():
        return None
    for alarm in alarms:
        metric = str(alarm.get("metric") or "").lower()
        series = [s for s in evidence.metrics if s["metric"].lower() == metric]
        if not any(word in metric for word in NOISY_METRICS) or not series:
            return None
        if any(s in evidence.anomalies() for s in series):
            return None
    if any(not evidence.steady(s) for s in evidence.faults()):
        return None
    return no_fault(
        "No fault to heal: the alarmed error counts are at their usual level and the error "
        "lines come at the rate they always do; the alarm's threshold sits inside normal "
        "behaviour. Tune the alarm.",
        [
            f"metric {s['namespace']} {s['metric']}: baseline {s['baseline']}, last {s['last']}"
            for s in evidence.metrics
            if s["metric"] in {a.get("metric") for a in alarms}
        ][:3],
        0.65,
    )


def _time(event: dict[str, Any]) -> Any:
    return parse_time(event["time"])


def _is_planned(change: dict[str, Any], library: Any) -> bool:
    text = json.dumps(change)
    if any(key in text for key in PLANNED_CHANGE_KEYS):
        return True
    return bool(library.signatures["planned_reboot"].matches(text))


def zonal_pattern(evidence: Evidence) -> tuple[str, list[str]] | None:
    """(zone, instances) when at least two instances of one Availability Zone fail — at least
    half of it — while every other zone is mostly healthy: a zonal fault, not a host's.
    Failing means failing EC2 status checks when any instance does, else fault lines in logs
    (a healthy host that calls into a broken zone logs errors too)."""
    failing = set(evidence.impaired()) or set(evidence.fault_instances())
    zones: dict[str, set[str]] = {}
    for instance, facts in evidence.instances.items():
        if facts.get("az") and facts.get("state") not in ("terminated", "shutting-down"):
            zones.setdefault(str(facts["az"]), set()).add(instance)
    if len(zones) < 2:
        return None
    share = {zone: len(members & failing) / len(members) for zone, members in zones.items()}
    bad = [zone for zone, part in share.items() if part >= 0.5 and len(zones[zone] & failing) >= 2]
    if len(bad) != 1 or any(part >= 0.5 for zone, part in share.items() if zone != bad[0]):
        return None
    return bad[0], sorted(zones[bad[0]] & failing)


def group_at_max(evidence: Evidence) -> tuple[str, bool] | None:
    """(group, CPU runs hot) for the alarmed group whose desired capacity is at its max."""
    for name in evidence.alarmed_groups():
        group = evidence.groups[name]
        cpu = max(
            (
                s["last"]
                for s in evidence.metrics
                if s["metric"] == "CPUUtilization"
                and s.get("dimensions", {}).get("AutoScalingGroupName") == name
            ),
            default=0.0,
        )
        if group.get("desired", 0) >= group.get("max", 0):
            return name, cpu >= CPU_HOT
    return None


def fleet_fact_queries(evidence: Evidence) -> list[str]:
    """The fleet's shape in words, for a runbook search of its own, when it points at a failure
    mode that no retrieved runbook is about: one zone failing, status checks failing, a group
    pinned at its max. Log lines and metrics alone may not bring those runbooks up."""
    categories = {str(r.get("category")) for r in evidence.runbooks}
    actions = {a.get("action") for r in evidence.runbooks for a in r.get("actions", [])}
    zonal = zonal_pattern(evidence)
    queries = []
    if zonal and "az_impairment" not in categories:
        queries.append(f"failures confined to one Availability Zone {zonal[0]}, several instances")
    if evidence.impaired() and not zonal and "instance_failure" not in categories:
        queries.append("instance fails its EC2 status checks StatusCheckFailed impaired")
    if group_at_max(evidence) and "raise_capacity_limit" not in actions:
        queries.append("Auto Scaling group at its max size, desired capacity equals max")
    return queries
