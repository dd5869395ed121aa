"""Filling a runbook's action from the evidence: target, parameters, and when it does not apply.

General rules only; what each failure mode needs lives in the runbooks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from agents.offline.evidence import CONTEXT_SIGNATURES, Evidence, instances_in_logs
from agents.offline.templates import is_signal
from healer.catalog import default_catalog
from healer.domain import ActionSpec, TargetFacts, TargetKind
from knowledge_base.signatures import default_signatures
from tools.scope import alarm_processes

SIZES = ["nano", "micro", "small", "medium", "large", "xlarge"] + [
    f"{n}xlarge" for n in (2, 4, 8, 12, 16, 24)
]
REBOOT_EVENTS = ("RebootInstances", "StopInstances", "StartInstances")
LOAD_METRICS = ("RequestCount", "RequestCountPerTarget", "NetworkIn", "NetworkPacketsIn")
_UNIT = re.compile(r"(?<![\w.@-])([a-zA-Z0-9@_-][a-zA-Z0-9@_.-]*)\.service(?=:|\s|$|\)|\.(?:\s|$))")
_STOPPING = re.compile(r"\bStopping ([a-zA-Z0-9@_.-]+?)\.service\b")
_STARTED = re.compile(r"\bStarted ([a-zA-Z0-9@_.-]+?)\.service\b")
_LOG_FILE = re.compile(r"(/var/log/[A-Za-z0-9_-][A-Za-z0-9._-]*)/[A-Za-z0-9_.-]+")
MAX_CLEANUP_DIRS = 3


def choose_action(
    evidence: Evidence, runbook: dict[str, Any]
) -> tuple[dict[str, Any] | None, str, str]:
    """The first of the runbook's actions whose preconditions hold and whose target and
    parameters the evidence supports."""
    notes = []
    for option in runbook.get("actions", []):
        if option.get("action") is None:
            decision = option.get("decision") or "escalate"
            recommendation = "no_action" if decision == "no_action" else "escalate"
            notes.append(f"Runbook says: {option.get('when')}.")
            return None, recommendation, " ".join(notes)
        why = unmet_precondition(evidence, option)
        filled = None
        if not why:
            filled, why = _fill(evidence, runbook, option)
        if filled is not None:
            return filled, "act", " ".join(notes)
        notes.append(f"{option['action']} does not apply: {why}.")
    return None, "escalate", " ".join(notes)


def unmet_precondition(evidence: Evidence, option: dict[str, Any]) -> str:
    """Why the evidence does not allow this runbook action, or "" when it does."""
    titles = {sid: s.title for sid, s in default_signatures().signatures.items()}
    required = option.get("requires") or []
    if required and not any(s in evidence.signals for s in required):
        return "no evidence that " + " or that ".join(titles.get(s, s) for s in required)
    against = [s for s in option.get("unless") or [] if evidence.rules_out(s, required)]
    if against:
        return "the logs show that " + "; ".join(titles.get(s, s) for s in against)
    changes = option.get("after_change") or []
    if changes and not evidence.changes_before_onset(changes):
        return "no change of that kind precedes the onset of the symptoms"
    explaining = [
        change
        for change in evidence.changes_before_onset(option.get("unless_change") or [])
        if not evidence.worked_after(change)
    ]
    if explaining:
        change = explaining[-1]
        return f"{change.get('action')} by {change.get('actor')} just before the onset explains it"
    return ""


def _fill(
    evidence: Evidence, runbook: dict[str, Any], option: dict[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    spec = default_catalog().get(option["action"])
    if spec is None:
        return None, "not a catalog action"
    target = _target(evidence, spec.target)
    if target is None:
        return None, f"no {spec.target} target in the evidence"
    trait = _ruling_trait(evidence, target, option.get("unless_target") or [])
    if trait:
        return None, trait
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
    elif action == "clear_disk_space" and any(
        str(p).startswith("/var/log/") for p in params.get("paths") or []
    ):
        params["paths"] = _log_dirs_named(evidence, target, spec) or params["paths"]
    elif action == "rollback_deployment" and "launch_template_version" not in params:
        current = str(evidence.groups.get(target, {}).get("launch_template_version") or "")
        if not current.isdigit() or int(current) < 2:
            return None, f"no earlier launch template version to return to (current {current!r})"
        params["launch_template_version"] = str(int(current) - 1)  # named, so the approver sees it
    elif action == "restart_service" and "service" not in params:
        # else the process an alarm on the target watches: the fact the guardrail accepts
        unit = _unit_in_logs(evidence, runbook) or next(
            iter(alarm_processes(evidence.alarms, target)), None
        )
        if unit is None:
            return None, "no systemd unit is named in the logs or by the alarm"
        params["service"] = unit
    if action in ("restart_service", "restart_instance"):
        recurred = _failure_after_restart(evidence, runbook) or _failure_after_reboot(
            evidence, runbook, target
        )
        if recurred:
            return None, f'a restart already happened and the failure came back ("{recurred}")'
    try:
        spec.validate_params(params)
    except ValueError as exc:
        return None, str(exc)
    return {"action": action, "target": target, "params": params}, ""


def first_action(runbook: dict[str, Any]) -> dict[str, Any] | None:
    """The runbook's first catalog action (not a `none` clause)."""
    return next((a for a in runbook.get("actions", []) if a.get("action")), None)


def target_misfit(evidence: Evidence, runbook: dict[str, Any]) -> str:
    """Why the runbook's first catalog action is written for another shape of fleet than the
    incident's: it replaces group members and the instance is standalone, or it excludes group
    members and the instance is one. "" when it fits."""
    first = first_action(runbook)
    spec = default_catalog().get(first["action"]) if first else None
    if first is None or spec is None:
        return ""
    instance = _target(evidence, TargetKind.INSTANCE)
    if instance is None:
        return ""
    if spec.target == TargetKind.INSTANCE_IN_ASG and not evidence.instances.get(instance, {}).get(
        "asg"
    ):
        return f"{instance} is not in an Auto Scaling group"
    shape = [t for t in first.get("unless_target") or [] if t == "asg_member"]
    return _ruling_trait(evidence, instance, shape)


def _ruling_trait(evidence: Evidence, target: str, traits: list[str]) -> str:
    """Why what the target is rules the action out, or "" when nothing does."""
    facts = evidence.instances.get(target, {})
    if "holds_data" in traits:
        if TargetFacts(tags=facts.get("tags") or {}).stateful:
            return f"{target} is tagged healer:stateful=true and its data lives on it"
        library = default_signatures()
        named = next(
            (
                e["message"]
                for e in evidence.signals.get("data_files", [])
                if target in e.get("stream", "")
                and set(library.classify(e["message"])) - CONTEXT_SIGNATURES
            ),
            None,
        )
        if named:
            return f'a failing line on {target} names its data ("{named}")'
    if "asg_member" in traits and facts.get("asg"):
        return f"{target} is a member of {facts['asg']}, whose launch template sets its type"
    return ""


def _log_dirs_named(evidence: Evidence, target: str, spec: ActionSpec) -> list[str]:
    """The log directories under /var/log that the target's disk-full and log lines name and
    the action allows, most named first: a runbook's log path is a guess at where an
    application logs."""
    dirs: Counter[str] = Counter()
    for signature in ("disk_full", "log_files"):
        for event in evidence.signals.get(signature, []):
            if target in event.get("stream", ""):
                dirs.update(m.group(1) for m in _LOG_FILE.finditer(event["message"]))
    named = [d for d, _ in dirs.most_common()]
    return [d for d in named if _allowed_path(spec, d)][:MAX_CLEANUP_DIRS]


def _allowed_path(spec: ActionSpec, path: str) -> bool:
    try:
        spec.validate_params({"paths": [path]})
    except ValueError:
        return False
    return True


def _symptom_lines(runbook: dict[str, Any]) -> Any:
    """A test: does a log line report one of the runbook's signatures?"""
    library = default_signatures().signatures
    signatures = [
        library[s] for s in runbook.get("symptoms", {}).get("signatures", []) if s in library
    ]
    return lambda message: any(s.matches(message) for s in signatures)


def _failure_after_restart(evidence: Evidence, runbook: dict[str, Any]) -> str | None:
    """A symptom line after a deliberate restart (systemd `Stopping X` then `Started X`) on the
    same stream: restarting did not help. systemd's own crash-restarts do not count."""
    is_symptom = _symptom_lines(runbook)
    stopping: dict[str, set[str]] = {}
    restarted: set[str] = set()
    for event in sorted(evidence.logs, key=lambda e: e["time"]):
        message, stream = event["message"], event.get("stream", "")
        if stop := _STOPPING.search(message):
            stopping.setdefault(stream, set()).add(stop.group(1))
        elif (start := _STARTED.search(message)) and start.group(1) in stopping.get(stream, ()):
            restarted.add(stream)
        elif stream in restarted and is_symptom(message):
            return str(message)
    return None


def _failure_after_reboot(evidence: Evidence, runbook: dict[str, Any], target: str) -> str | None:
    """A symptom line on the target's streams after someone rebooted or stopped it."""
    is_symptom = _symptom_lines(runbook)
    reboots = [
        str(c.get("time"))
        for c in evidence.changes
        if c.get("action") in REBOOT_EVENTS and target in (c.get("resources") or [])
    ]
    if not reboots:
        return None
    since = min(reboots)
    for event in sorted(evidence.logs, key=lambda e: e["time"]):
        later = _utc(event["time"]) > _utc(since)
        if later and target in event.get("stream", "") and is_symptom(event["message"]):
            return str(event["message"])
    return None


def _utc(text: str) -> str:
    """An ISO time in one comparable form."""
    return text.replace("+00:00", "Z")[:19]


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
    is_symptom = _symptom_lines(runbook)
    tiers: list[list[str]] = [[], [], []]
    for event in [*evidence.logs, *evidence.unit_lines]:
        message = event["message"]
        if "systemd" not in message and ".service:" not in message:
            continue
        match = _UNIT.search(message)
        if not match:
            continue
        if is_symptom(message):
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
        instances = evidence.impaired() or evidence.fault_instances() or instances_in_logs(evidence)
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
