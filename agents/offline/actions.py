"""Filling a runbook's action from the evidence: target, parameters, and when it does not apply.

General rules only; what each failure mode needs lives in the runbooks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from agents.offline.evidence import Evidence, instances_in_logs
from agents.offline.templates import is_signal
from healer.catalog import default_catalog
from healer.domain import TargetKind

SIZES = ["nano", "micro", "small", "medium", "large", "xlarge"] + [
    f"{n}xlarge" for n in (2, 4, 8, 12, 16, 24)
]
LOAD_METRICS = ("RequestCount", "RequestCountPerTarget", "NetworkIn", "NetworkPacketsIn")
_UNIT = re.compile(r"(?<![\w.@-])([a-zA-Z0-9@_-][a-zA-Z0-9@_.-]*)\.service(?=:|\s|$|\)|\.(?:\s|$))")
_STOPPING = re.compile(r"\bStopping ([a-zA-Z0-9@_.-]+?)\.service\b")
_STARTED = re.compile(r"\bStarted ([a-zA-Z0-9@_.-]+?)\.service\b")


def choose_action(
    evidence: Evidence, runbook: dict[str, Any]
) -> tuple[dict[str, Any] | None, str, str]:
    """The first of the runbook's actions whose target and parameters the evidence supports."""
    notes = []
    for option in runbook.get("actions", []):
        if option.get("action") is None:
            decision = option.get("decision") or "escalate"
            recommendation = "no_action" if decision == "no_action" else "escalate"
            notes.append(f"Runbook says: {option.get('when')}.")
            return None, recommendation, " ".join(notes)
        filled, why = _fill(evidence, runbook, option)
        if filled is not None:
            return filled, "act", " ".join(notes)
        notes.append(f"{option['action']} does not apply: {why}.")
    return None, "escalate", " ".join(notes)


def _fill(
    evidence: Evidence, runbook: dict[str, Any], option: dict[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    spec = default_catalog().get(option["action"])
    if spec is None:
        return None, "not a catalog action"
    target = _target(evidence, spec.target)
    if target is None:
        return None, f"no {spec.target} target in the evidence"
    params = dict(option.get("params") or {})
    action = spec.id.value
    if action == "scale_out":
        count, why = _scale_out_count(evidence, target, runbook.get("sizing") or {})
        if count is None:
            return None, why
        params["count"] = count
    elif action == "resize_instance" and "instance_type" not in params:
        bigger = _next_size(evidence.instances.get(target, {}).get("type"))
        if bigger is None:
            return None, "no larger instance type is known"
        params["instance_type"] = bigger
    elif action == "raise_capacity_limit":
        limits, why = _raised_limits(evidence, target, runbook.get("sizing") or {})
        if limits is None:
            return None, why
        params |= limits
    elif action == "rollback_deployment" and "launch_template_version" not in params:
        current = str(evidence.groups.get(target, {}).get("launch_template_version") or "")
        if not current.isdigit() or int(current) < 2:
            return None, f"no earlier launch template version to return to (current {current!r})"
        params["launch_template_version"] = str(int(current) - 1)  # named, so the approver sees it
    elif action == "restart_service" and "service" not in params:
        unit = _unit_in_logs(evidence, runbook)
        if unit is None:
            return None, "no systemd unit is named in the logs"
        params["service"] = unit
    if action in ("restart_service", "restart_instance"):
        recurred = _failure_after_restart(evidence, runbook)
        if recurred:
            return None, f'a restart already happened and the failure came back ("{recurred}")'
    try:
        spec.validate_params(params)
    except ValueError as exc:
        return None, str(exc)
    return {"action": action, "target": target, "params": params}, ""


def _failure_after_restart(evidence: Evidence, runbook: dict[str, Any]) -> str | None:
    """A symptom line after a deliberate restart (systemd `Stopping X` then `Started X`) on the
    same stream: restarting did not help. systemd's own crash-restarts do not count."""
    patterns = [p.lower() for p in runbook.get("symptoms", {}).get("logs", [])]
    stopping: dict[str, set[str]] = {}
    restarted: set[str] = set()
    for event in sorted(evidence.logs, key=lambda e: e["time"]):
        message, stream = event["message"], event.get("stream", "")
        if stop := _STOPPING.search(message):
            stopping.setdefault(stream, set()).add(stop.group(1))
        elif (start := _STARTED.search(message)) and start.group(1) in stopping.get(stream, ()):
            restarted.add(stream)
        elif stream in restarted and any(p in message.lower() for p in patterns):
            return str(message)
    return None


def _raised_limits(
    evidence: Evidence, group_name: str, sizing: dict[str, Any]
) -> tuple[dict[str, int] | None, str]:
    """A new max and desired capacity for a group pinned at its max by real load."""
    group = evidence.groups.get(group_name)
    cpu = next((s for s in evidence.metrics if s["metric"] == "CPUUtilization"), None)
    if group is None or cpu is None:
        return None, "the group's capacity or CPU is unknown"
    target_cpu = float(sizing.get("target_cpu_percent", 60))
    needed = math.ceil(group["desired"] * cpu["last"] / target_cpu)
    if group["desired"] < group["max"]:
        return None, f"the group is below its max ({group['desired']} of {group['max']})"
    if needed <= group["desired"]:
        return None, f"CPU is {cpu['last']} %: more capacity would not help"
    return {"max": math.ceil(needed * 1.25), "desired": needed}, ""


def _unit_in_logs(evidence: Evidence, runbook: dict[str, Any]) -> str | None:
    """The systemd unit the failure is about: named in the lines that match the runbook's
    symptoms, else in error lines, else anywhere; the most often named wins."""
    patterns = [p.lower() for p in runbook.get("symptoms", {}).get("logs", [])]
    tiers: list[list[str]] = [[], [], []]
    for event in evidence.logs:
        message = event["message"]
        if "systemd" not in message and ".service:" not in message:
            continue
        match = _UNIT.search(message)
        if not match:
            continue
        if any(p in message.lower() for p in patterns):
            tiers[0].append(match.group(1))
        elif is_signal(message):
            tiers[1].append(match.group(1))
        else:
            tiers[2].append(match.group(1))
    for units in tiers:
        if units:
            return Counter(units).most_common(1)[0][0]
    return None


def _target(evidence: Evidence, kind: TargetKind) -> str | None:
    instances = [r for r in evidence.alarm_resources() if r.startswith("i-")]
    if not instances:
        instances = instances_in_logs(evidence)
    if kind == TargetKind.INSTANCE:
        return instances[0] if instances else None
    if kind == TargetKind.INSTANCE_IN_ASG:
        return next((i for i in instances if evidence.instances.get(i, {}).get("asg")), None)
    groups = [r for r in evidence.alarm_resources() if r in evidence.groups]
    groups += [
        evidence.instances[i]["asg"] for i in instances if evidence.instances.get(i, {}).get("asg")
    ]
    return groups[0] if groups else None


def _scale_out_count(
    evidence: Evidence, group_name: str, sizing: dict[str, Any]
) -> tuple[int | None, str]:
    """Instances to add so the current load runs at the runbook's target CPU."""
    group = evidence.groups.get(group_name)
    if group is None:
        return None, f"group {group_name} was not described"
    desired, maximum = group["desired"], group["max"]
    cpu = next((s for s in evidence.metrics if s["metric"] == "CPUUtilization"), None)
    if cpu is None:
        return None, "no CPU series for the group"
    load = max(
        (s for s in evidence.metrics if s["metric"] in LOAD_METRICS and s.get("change_ratio")),
        key=lambda s: s["change_ratio"],
        default=None,
    )
    growth = load["change_ratio"] if load else max(1.0, cpu["last"] / max(cpu["baseline"], 1.0))
    target_cpu = float(sizing.get("target_cpu_percent", 60))
    needed = math.ceil(desired * cpu["baseline"] * growth / target_cpu)
    count = min(needed, maximum) - desired
    if count <= 0:
        return None, f"the group is at {desired} of max {maximum}; scaling within it does not help"
    return count, ""


def _next_size(instance_type: str | None) -> str | None:
    if not instance_type or "." not in instance_type:
        return None
    family, size = instance_type.split(".", 1)
    if size not in SIZES or SIZES.index(size) + 1 >= len(SIZES):
        return None
    return f"{family}.{SIZES[SIZES.index(size) + 1]}"
