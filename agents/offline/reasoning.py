"""The offline diagnostician's reasoning: gather evidence, match runbooks, fill the action.

General rules only: knowledge of failure modes lives in the runbooks (symptoms, actions, sizing);
nothing here names a case, a resource or a string that belongs to one incident.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agents.offline.conversation import ToolCall
from agents.offline.templates import top_templates
from healer.catalog import default_catalog
from healer.domain import TargetKind

ACT_THRESHOLD = 5.0
ANOMALY_RATIO = 1.5
SIZES = ["nano", "micro", "small", "medium", "large", "xlarge"] + [
    f"{n}xlarge" for n in (2, 4, 8, 12, 16, 24)
]
LOAD_METRICS = ("RequestCount", "RequestCountPerTarget", "NetworkIn", "NetworkPacketsIn")
_UNIT = re.compile(r"\b([a-zA-Z0-9@_.-]+)\.service\b")


def incident_brief(task: dict[str, Any]) -> str:
    """The incident as the diagnostician's task (JSON in a fenced block)."""
    return "Diagnose this incident.\n```json\n" + json.dumps(task, sort_keys=True) + "\n```"


def unknown_diagnosis(why: str) -> dict[str, Any]:
    return {
        "category": "unknown",
        "summary": f"Root cause unknown: {why}.",
        "resources": [],
        "evidence": [],
        "confidence": 0.2,
        "runbook_id": None,
        "proposed_action": None,
        "recommendation": "escalate",
    }


@dataclass
class Evidence:
    """Everything the tools returned so far, organised for reasoning."""

    alarms: list[dict[str, Any]] = field(default_factory=list)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    runbooks: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_calls(cls, task: dict[str, Any], calls: list[ToolCall]) -> Evidence:
        evidence = cls()
        seen_logs: set[tuple[str, str]] = set()
        for call in calls:
            data = call.data
            if call.status != "success" or data is None:
                continue
            if isinstance(data, list):
                data = [item for item in data if isinstance(item, dict) and "truncated" not in item]
            if call.name == "get_alarm_details":
                evidence.alarms = [a for a in data if isinstance(a, dict)]
            elif call.name == "describe_resource" and isinstance(data, dict) and "id" in data:
                evidence.instances[data["id"]] = data
            elif call.name == "describe_resource" and isinstance(data, dict) and "name" in data:
                evidence.groups[data["name"]] = data
            elif not isinstance(data, list):
                continue  # an unexpected shape is no evidence
            elif call.name == "get_resource_metrics":
                evidence.metrics += [m for m in data if m.get("values")]
            elif call.name == "search_logs":
                for event in data:
                    key = (event["time"], event["message"])
                    if key not in seen_logs:
                        seen_logs.add(key)
                        evidence.logs.append(event)
            elif call.name == "get_recent_changes":
                evidence.changes = data
            elif call.name == "search_runbooks":
                evidence.runbooks = data
        return evidence

    # -- what to look at next ---------------------------------------------------------------

    def alarm_resources(self) -> list[str]:
        """Resource ids named by the alarms' dimensions, in alarm order."""
        found: list[str] = []
        for alarm in self.alarms:
            dims = alarm.get("dimensions") or {}
            for name in ("InstanceId", "AutoScalingGroupName", "LoadBalancer"):
                if name in dims and dims[name] not in found:
                    found.append(dims[name])
        return found

    def resources_to_describe(self) -> list[str]:
        ids = [r for r in self.alarm_resources() if not r.startswith(("app/", "net/"))]
        for instance in self.instances.values():
            if instance.get("asg") and instance["asg"] not in ids:
                ids.append(instance["asg"])
        return ids

    def resources_to_measure(self) -> list[str]:
        return self.alarm_resources()[:4]

    def log_scope(self) -> list[str] | None:
        """Instance ids whose log streams matter: the alarmed ones, or the alarmed group's."""
        ids = [r for r in self.alarm_resources() if r.startswith("i-")]
        for group in self.groups.values():
            ids += [i for i in group.get("instances", []) if i not in ids]
        return ids or None

    def anomalies(self) -> list[dict[str, Any]]:
        """Series whose last value departs from the baseline."""
        out = []
        for series in self.metrics:
            ratio = series.get("change_ratio")
            if ratio is not None and (ratio >= ANOMALY_RATIO or ratio <= 1 / ANOMALY_RATIO):
                out.append(series)
        return out

    def symptom_query(self) -> str:
        """Symptoms in words, for the runbook search."""
        words = [f"{a.get('metric') or ''} {a.get('description') or ''}" for a in self.alarms]
        words += [f"{s['metric']}" for s in self.anomalies()]
        words += [t for t, _ in top_templates([e["message"] for e in self.logs], limit=6)]
        words += [f"{c.get('action')} {json.dumps(c.get('detail'))}" for c in self.changes[-3:]]
        return " ".join(words)[:1500]

    def runbook_log_patterns(self) -> list[str]:
        patterns: list[str] = []
        for runbook in self.runbooks:
            for pattern in runbook.get("symptoms", {}).get("logs", []):
                if pattern not in patterns:
                    patterns.append(pattern)
        return patterns[:25]


# --------------------------------------------------------------------------- matching


@dataclass
class Match:
    runbook: dict[str, Any]
    score: float
    metric_hits: list[str]
    log_hits: list[tuple[str, str]]
    change_hits: list[dict[str, Any]]


def _metric_key(text: str) -> str:
    return text.split(":")[-1].lower()


def match_runbook(evidence: Evidence, runbook: dict[str, Any], rank: int) -> Match:
    """Score how well the evidence fits a runbook's symptoms."""
    symptoms = runbook.get("symptoms", {})
    wanted = {_metric_key(m) for m in symptoms.get("metrics", [])}
    alarm_metrics = {(a.get("metric") or "").lower() for a in evidence.alarms}
    anomalous = {s["metric"].lower() for s in evidence.anomalies()}
    metric_hits = sorted(wanted & (alarm_metrics | anomalous))
    score = 3.0 * min(2, len(wanted & alarm_metrics)) + 1.0 * min(3, len(wanted & anomalous))

    log_hits: list[tuple[str, str]] = []
    for pattern in symptoms.get("logs", []):
        lines = [e["message"] for e in evidence.logs if pattern.lower() in e["message"].lower()]
        quoted = {line for _, line in log_hits}
        if lines:
            fresh = [line for line in lines if line not in quoted]
            log_hits.append((pattern, fresh[-1] if fresh else lines[-1]))
    score += 2.0 * min(4, len(log_hits))

    change_hits = [
        change
        for change in evidence.changes
        if any(word.lower() in json.dumps(change).lower() for word in symptoms.get("changes", []))
    ]
    score += 1.0 * min(2, len(change_hits))
    score += 1.0 if rank == 0 else 0.0
    return Match(runbook, score, metric_hits, log_hits, change_hits)


def diagnose(evidence: Evidence) -> dict[str, Any]:
    """The Diagnosis: the best-matching runbook, its category, and its first fillable action."""
    if not evidence.runbooks:
        return unknown_diagnosis("no runbook matches the symptoms")
    matches = sorted(
        (match_runbook(evidence, rb, rank) for rank, rb in enumerate(evidence.runbooks)),
        key=lambda m: -m.score,
    )
    best = matches[0]
    if best.score < ACT_THRESHOLD:
        diagnosis = unknown_diagnosis(
            f"the best runbook ({best.runbook['runbook_id']}) matches too few symptoms"
        )
        diagnosis["evidence"] = _evidence_lines(evidence, best)
        return diagnosis
    confidence = round(min(0.95, 0.3 + 0.07 * best.score), 2)
    proposal, recommendation, note = _choose_action(evidence, best.runbook)
    resources = _resources(evidence, proposal)
    return {
        "category": best.runbook["category"],
        "summary": _summary(evidence, best, note),
        "resources": resources,
        "evidence": _evidence_lines(evidence, best),
        "confidence": confidence,
        "runbook_id": best.runbook["runbook_id"],
        "proposed_action": proposal,
        "recommendation": recommendation,
    }


def _summary(evidence: Evidence, match: Match, note: str) -> str:
    parts = [match.runbook["title"] + "."]
    lines = _unique(line for _, line in match.log_hits)
    if lines:
        quoted = ", ".join(f'"{line}"' for line in lines[:3])
        parts.append(f"Logs show {quoted}.")
    for series in evidence.anomalies()[:3]:
        parts.append(
            f"{series['metric']} went from a baseline of {series['baseline']} to "
            f"{series['last']} ({series['change_ratio']}×)."
        )
    if match.change_hits:
        change = match.change_hits[-1]
        parts.append(f"Recent change: {change.get('action')} by {change.get('actor')}.")
    if note:
        parts.append(note)
    return " ".join(parts)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _evidence_lines(evidence: Evidence, match: Match) -> list[str]:
    lines = [
        f"alarm {a['name']} is {a['state']}: {a.get('reason', '')}"[:300] for a in evidence.alarms
    ]
    lines += [f"log: {line}" for line in _unique(line for _, line in match.log_hits)[:4]]
    lines += [
        f"metric {s['namespace']} {s['metric']}: baseline {s['baseline']}, last {s['last']}, "
        f"max {s['max']}"
        for s in evidence.anomalies()[:4]
    ]
    lines += [
        f"change: {c.get('action')} on {', '.join(map(str, c.get('resources') or []))} "
        f"by {c.get('actor')} at {c.get('time')}"
        for c in match.change_hits[-2:]
    ]
    return lines


# --------------------------------------------------------------------------- filling the action


def _choose_action(
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
    elif action == "restart_service" and "service" not in params:
        unit = next((m.group(1) for e in evidence.logs if (m := _UNIT.search(e["message"]))), None)
        if unit is None:
            return None, "no systemd unit is named in the logs"
        params["service"] = unit
    try:
        spec.validate_params(params)
    except ValueError as exc:
        return None, str(exc)
    return {"action": action, "target": target, "params": params}, ""


def _target(evidence: Evidence, kind: TargetKind) -> str | None:
    instances = [r for r in evidence.alarm_resources() if r.startswith("i-")]
    if not instances:
        instances = _instances_in_logs(evidence)
    if kind == TargetKind.INSTANCE:
        return instances[0] if instances else None
    if kind == TargetKind.INSTANCE_IN_ASG:
        return next((i for i in instances if evidence.instances.get(i, {}).get("asg")), None)
    groups = [r for r in evidence.alarm_resources() if r in evidence.groups]
    groups += [
        evidence.instances[i]["asg"] for i in instances if evidence.instances.get(i, {}).get("asg")
    ]
    return groups[0] if groups else None


def _instances_in_logs(evidence: Evidence) -> list[str]:
    counts: dict[str, int] = {}
    for event in evidence.logs:
        for instance in re.findall(r"i-[0-9a-f]{8,17}", event.get("stream", "")):
            counts[instance] = counts.get(instance, 0) + 1
    return sorted(counts, key=lambda i: -counts[i])


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


def _resources(evidence: Evidence, proposal: dict[str, Any] | None) -> list[str]:
    found = [proposal["target"]] if proposal else []
    for resource in evidence.alarm_resources():
        known = resource.startswith("i-") or resource in evidence.groups
        if known and resource not in found:
            found.append(resource)
    return found
