"""Evidence: everything the diagnostician's tools returned, organised for reasoning."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agents.offline.conversation import ToolCall
from agents.offline.templates import is_signal, top_templates

LOAD_BALANCERS = "AWS/ApplicationELB"
DATABASES = "AWS/RDS"
ANOMALY_RATIO = 1.5
RECENT_CHANGE_SECONDS = 2 * 3600
MIN_COUNT_LEVEL = 10


@dataclass
class Evidence:
    """Everything the tools returned so far, organised for reasoning."""

    alarms: list[dict[str, Any]] = field(default_factory=list)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    opened_at: datetime | None = None
    runbooks: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_calls(cls, task: dict[str, Any], calls: list[ToolCall]) -> Evidence:
        evidence = cls(opened_at=_parse_time(task.get("opened_at")))
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
                known = {r.get("runbook_id") for r in evidence.runbooks}
                evidence.runbooks += [r for r in data if r.get("runbook_id") not in known]
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
        """Alarmed instances and groups; when alarms name neither (a load balancer or target
        group alarm), the instances whose logs carry errors; and each described instance's group."""
        ids = [r for r in self.alarm_resources() if not r.startswith(("app/", "net/"))]
        if not any(r.startswith("i-") or r in self.groups for r in ids):
            ids += [i for i in instances_in_logs(self)[:3] if i not in ids]
        for instance in self.instances.values():
            if instance.get("asg") and instance["asg"] not in ids:
                ids.append(instance["asg"])
        return ids

    def resources_to_measure(self) -> list[str]:
        """The alarmed resources, and the groups found behind an alarm that named none."""
        found = self.alarm_resources()
        found += [g for g in self.groups if g not in found]
        if self.groups and not any(r.startswith(("app/", "net/")) for r in found):
            found.append(LOAD_BALANCERS)  # the traffic in front of a group tells load from fault
        if any("latency" in m.lower() or "responsetime" in m.lower() for m in self.alarm_metrics()):
            found.append(DATABASES)  # slow answers: look at what the fleet waits on
        return found[:6]

    def alarm_metrics(self) -> list[str]:
        return [str(a.get("metric")) for a in self.alarms if a.get("metric")]

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
            if ratio is None or 1 / ANOMALY_RATIO < ratio < ANOMALY_RATIO:
                continue
            is_count = "count" in series["metric"].lower()
            if is_count and max(series["last"], series["baseline"]) < MIN_COUNT_LEVEL:
                continue  # 1 → 2 errors is noise, not a fault
            out.append(series)
        return out

    def recent_changes(self, seconds: float = RECENT_CHANGE_SECONDS) -> list[dict[str, Any]]:
        """Changes made shortly before the incident opened: the usual suspects."""
        if self.opened_at is None:
            return []
        recent = []
        for change in self.changes:
            at = _parse_time(change.get("time"))
            if at is not None and 0 <= (self.opened_at - at).total_seconds() <= seconds:
                recent.append(change)
        return recent

    def change_query(self) -> str:
        """The recent changes in words, for a runbook search of its own."""
        words = [
            f"recent change {c.get('action')} {' '.join(map(str, c.get('resources') or []))}"
            for c in self.recent_changes()
        ]
        return " ".join(words)[:600]

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


def instances_in_logs(evidence: Evidence) -> list[str]:
    """Instance ids named by log streams of error lines, most lines first."""
    counts: dict[str, int] = {}
    for event in evidence.logs:
        if not is_signal(event.get("message", "")):
            continue
        for instance in re.findall(r"i-[0-9a-f]{8,17}", event.get("stream", "")):
            counts[instance] = counts.get(instance, 0) + 1
    return sorted(counts, key=lambda i: -counts[i])


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
