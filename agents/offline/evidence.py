"""Evidence: everything the diagnostician's tools returned, organised for reasoning."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from agents.offline.conversation import ToolCall
from agents.offline.templates import is_signal, top_templates
from knowledge_base.signatures import default_signatures
from tools.cloudwatch import PERIOD_SECONDS

LOAD_BALANCERS = "AWS/ApplicationELB"
DATABASES = "AWS/RDS"
ANOMALY_RATIO = 1.5
RECENT_CHANGE_SECONDS = 2 * 3600
SCALING_SERVICE = "autoscaling.amazonaws.com"
MIN_COUNT_LEVEL = 10
ERROR_WORDS = ("error", "5xx", "4xx", "fault", "fail", "throttl", "reject")
MEMBER_WORDS = ("host", "instance", "node", "pid", "process", "task")  # counts of members
MAX_MEMBERS = 8
MAX_TERMS = 40
MAX_ZONES = 2
MAX_UNIT_LOOKUPS = 3
RESOURCE_DIMENSIONS = ("InstanceId", "AutoScalingGroupName", "LoadBalancer")
GROUP_ACTIONS = frozenset(
    {"UpdateAutoScalingGroup", "StartInstanceRefresh", "SetDesiredCapacity", "PutScalingPolicy"}
)
TEMPLATE_ACTIONS = frozenset({"CreateLaunchTemplateVersion", "ModifyLaunchTemplate"})
ONGOING_SECONDS = 15 * 60
OUTLASTED_SECONDS = 3 * 60  # an action's symptoms going on this long after a rival's stopped
UNIT_LOOKBACK_MINUTES = 1440  # how far back a unit's start line is looked for
_SYSLOG_IDENT = re.compile(r"^([A-Za-z][\w@.-]*)\[\d+\]:")
NOT_UNITS = frozenset({"kernel", "systemd"})
# Signatures that describe context (what files, a planned event, hostile text), not a fault.
CONTEXT_SIGNATURES = frozenset(
    {
        "log_files",
        "temp_files",
        "data_files",
        "planned_reboot",
        "scheduled_job",
        "fault_injection",
        "injected_instruction",
    }
)


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
    missing: set[str] = field(default_factory=set)  # resources AWS says do not exist
    unit_lines: list[dict[str, Any]] = field(default_factory=list)  # where units are named

    @classmethod
    def from_calls(cls, task: dict[str, Any], calls: list[ToolCall]) -> Evidence:
        evidence = cls(opened_at=parse_time(task.get("opened_at")))
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
            elif call.name == "describe_resource" and isinstance(data, dict) and "error" in data:
                evidence.missing.add(str(call.input.get("resource_id")))
            elif not isinstance(data, list):
                continue  # an unexpected shape is no evidence
            elif call.name == "describe_zone":
                for instance in data:
                    if "id" in instance:
                        evidence.instances.setdefault(instance["id"], instance)
            elif call.name == "get_resource_metrics":
                evidence.metrics += [m for m in data if m.get("values")]
            elif is_unit_lookup(call):
                evidence.unit_lines += data  # old lines that name units, not incident evidence
            elif call.name == "search_logs":
                for event in data:
                    key = (event["time"], event["message"])
                    if key not in seen_logs:
                        seen_logs.add(key)
                        evidence.logs.append(event)
            elif call.name == "get_recent_changes":
                evidence.changes = [c for c in data if not is_scaling_reaction(c)]
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
            for name in RESOURCE_DIMENSIONS:
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
        for group in self.groups.values():  # the members' zones tell a zonal fault apart
            ids += [i for i in group.get("instances", [])[:MAX_MEMBERS] if i not in ids]
        return ids

    def zones_to_describe(self) -> list[str]:
        """The zones of impaired or failing instances: is the fault the host's or the zone's?"""
        suspects = [*self.impaired(), *self.fault_instances()]
        zones = [self.instances[i].get("az") for i in suspects if i in self.instances]
        return [str(z) for z in dict.fromkeys(zones) if z][:MAX_ZONES]

    def resources_to_measure(self) -> list[str]:
        """The alarmed resources, and the groups found behind an alarm that named none."""
        found = self.alarm_resources()
        for alarm in self.alarms:  # a queue, table or application dimension: measure it as named
            dims = alarm.get("dimensions") or {}
            if dims and not set(dims) & set(RESOURCE_DIMENSIONS):
                name, value = next(iter(dims.items()))
                if f"{name}={value}" not in found:
                    found.append(f"{name}={value}")
        found += [g for g in self.groups if g not in found]
        if self.groups and not any(r.startswith(("app/", "net/")) for r in found):
            found.append(LOAD_BALANCERS)  # the traffic in front of a group tells load from fault
        if any("latency" in m.lower() or "responsetime" in m.lower() for m in self.alarm_metrics()):
            found.append(DATABASES)  # slow answers: look at what the fleet waits on
        return found[:6]

    def namespaces_to_measure(self) -> list[str]:
        """The namespaces of alarms with no dimensions (an application's own metric): only a
        namespace-wide query finds their series."""
        found = [
            str(a["namespace"])
            for a in self.alarms
            if a.get("namespace") and not a.get("dimensions")
        ]
        return list(dict.fromkeys(found))

    def alarm_metrics(self) -> list[str]:
        return [str(a.get("metric")) for a in self.alarms if a.get("metric")]

    def log_scope(self) -> list[str] | None:
        """Resources whose log streams matter: the alarmed instances, the groups (their Auto
        Scaling activity streams) and the groups' instances."""
        ids = [r for r in self.alarm_resources() if r.startswith("i-")]
        for name, group in self.groups.items():
            ids += [i for i in [name, *group.get("instances", [])] if i not in ids]
        return ids or None

    def anomalies(self) -> list[dict[str, Any]]:
        """Series whose last value departs from the baseline (from zero counts too)."""
        return [series for series in self.metrics if _departs(series)]

    @cached_property
    def signals(self) -> dict[str, list[dict[str, Any]]]:
        """Log events by the signature they match (a line may report several), oldest first."""
        library = default_signatures()
        found: dict[str, list[dict[str, Any]]] = {}
        for event in sorted(self.logs, key=lambda e: e["time"]):
            for signature in library.classify(event["message"]):
                found.setdefault(signature, []).append(event)
        return found

    def rules_out(self, signature: str, own: Iterable[str]) -> bool:
        """Whether an `unless` signature still speaks against an action: its lines go on, and
        the action's own symptoms did not carry on for minutes after they stopped (a database
        refused connections while it failed over, answers again, and a pool stays stuck)."""
        if not self.ongoing(signature):
            return False
        stopped = parse_time(self.signals[signature][-1]["time"])
        for own_signature in own:
            events = self.signals.get(own_signature)
            end = parse_time(events[-1]["time"]) if events else None
            if stopped and end and (end - stopped).total_seconds() >= OUTLASTED_SECONDS:
                return False
        return True

    def ongoing(self, signature: str) -> bool:
        """Whether the signature's lines go on until the end: its last line is at most
        ONGOING_SECONDS older than the newest fault line. Earlier trouble that stopped is past."""
        events = self.signals.get(signature)
        if not events:
            return False
        times = [
            parse_time(e[-1]["time"])
            for s, e in self.signals.items()
            if s not in CONTEXT_SIGNATURES
        ]
        newest = max((t for t in times if t is not None), default=None)
        last = parse_time(events[-1]["time"])
        if newest is None or last is None:
            return True
        return (newest - last).total_seconds() <= ONGOING_SECONDS

    def impaired(self) -> list[str]:
        """Described instances that fail an EC2 status check (system or instance)."""
        return [
            i
            for i, facts in self.instances.items()
            if "impaired" in (facts.get("status_checks") or {}).values()
        ]

    def steady(self, signature: str) -> bool:
        """Whether the signature's lines come all along: spread over the whole log window
        (the first in its first third, the last in its last third) rather than starting late."""
        events = self.signals.get(signature) or []
        times = [t for e in self.logs if (t := parse_time(e["time"])) is not None]
        if len(events) < 3 or not times:
            return False
        start, end = min(times), max(times)
        third = (end - start) / 3
        first, last = parse_time(events[0]["time"]), parse_time(events[-1]["time"])
        return bool(first and last and first <= start + third and last >= end - third)

    def alarmed_groups(self) -> list[str]:
        """Groups the alarms name, or the groups of the instances they name."""
        found = [r for r in self.alarm_resources() if r in self.groups]
        for resource in self.alarm_resources():
            group = self.instances.get(resource, {}).get("asg")
            if group and group not in found:
                found.append(group)
        return found

    def faults(self) -> set[str]:
        """The signatures present that report a fault (not mere context)."""
        return set(self.signals) - CONTEXT_SIGNATURES

    def onset(self) -> datetime | None:
        """When the trouble began: the first departing metric point or the first fault line."""
        moments = [
            parse_time(events[0]["time"])
            for sid, events in self.signals.items()
            if sid not in CONTEXT_SIGNATURES
        ]
        if self.opened_at is not None:
            for series in self.anomalies():
                first = _first_departure(series)
                if first is not None:
                    back = (len(series["values"]) - 1 - first) * _period(series)
                    moments.append(self.opened_at - timedelta(seconds=back))
        known = [m for m in moments if m is not None]
        return min(known) if known else self.opened_at

    def changes_since_onset_window(self, seconds: float) -> list[dict[str, Any]]:
        """Changes made from `seconds` before the onset until now."""
        onset = self.onset()
        if onset is None:
            return []
        return [
            c
            for c in self.changes
            if (at := parse_time(c.get("time"))) is not None
            and (onset - at).total_seconds() <= seconds
        ]

    def fault_instances(self) -> list[str]:
        """Instance ids named by the log streams of fault lines, most lines first."""
        counts: dict[str, int] = {}
        for signature in self.faults():
            for event in self.signals[signature]:
                for instance in re.findall(r"i-[0-9a-f]{8,17}", event.get("stream", "")):
                    counts[instance] = counts.get(instance, 0) + 1
        return sorted(counts, key=lambda i: -counts[i])

    def changes_before_onset(
        self, names: list[str], seconds: float = RECENT_CHANGE_SECONDS
    ) -> list[dict[str, Any]]:
        """Changes of the named kinds (`Event` or `Event:DetailKey`) made at most `seconds`
        before the onset and no later than it: a change after the symptoms cannot cause them."""
        onset = self.onset()
        if onset is None:
            return []
        found = []
        for change in self.changes:
            at = parse_time(change.get("time"))
            if at is None or not 0 <= (onset - at).total_seconds() <= seconds:
                continue
            if self.in_scope(change) and any(_change_is(change, name) for name in names):
                found.append(change)
        return found

    def worked_after(self, change: dict[str, Any]) -> bool:
        """Whether the metrics that departed were still at their baseline some time after the
        change: a service that ran fine after a change and failed later was not broken by it."""
        at = parse_time(change.get("time"))
        if at is None or self.opened_at is None:
            return False
        for series in self.anomalies():
            first = _first_departure(series)
            if first is None or first == 0:
                continue
            last_normal = (len(series["values"]) - first) * _period(series)
            if self.opened_at - timedelta(seconds=last_normal) > at + timedelta(minutes=5):
                return True
        return False

    def in_scope(self, change: dict[str, Any]) -> bool:
        """Whether a change could touch the incident: fleet changes (groups, launch templates,
        instances) count only on the incident's own fleet; others (secrets, parameters,
        network, databases) name resources the fleet merely uses, so they always count."""
        resources = [str(r) for r in change.get("resources") or []]
        action = str(change.get("action"))
        fleet = action in GROUP_ACTIONS or action in TEMPLATE_ACTIONS
        if not resources or not (fleet or any(r.startswith("i-") for r in resources)):
            return True
        groups = set(self.groups) | set(self.alarmed_groups())
        scope = groups | set(self.alarm_resources())
        scope |= {i for g in self.groups.values() for i in g.get("instances", [])}
        scope |= {str(g.get("launch_template")) for g in self.groups.values()}
        stems = {g.removesuffix("-asg") for g in groups} | groups
        for resource in resources:
            if resource in scope:
                return True
            if action in TEMPLATE_ACTIONS and resource.removesuffix("-lt") in stems:
                return True
        return False

    def recent_changes(self, seconds: float = RECENT_CHANGE_SECONDS) -> list[dict[str, Any]]:
        """Changes made shortly before the incident opened: the usual suspects."""
        if self.opened_at is None:
            return []
        recent = []
        for change in self.changes:
            at = parse_time(change.get("time"))
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
        library = default_signatures().signatures
        words += [library[s].title for s in sorted(self.faults()) if s in library]
        words += [t for t, _ in top_templates([e["message"] for e in self.logs], limit=6)]
        words += [f"{c.get('action')} {json.dumps(c.get('detail'))}" for c in self.changes[-3:]]
        return " ".join(words)[:1500]

    def runbook_log_terms(self) -> list[str]:
        """Filter terms that find the lines of the retrieved runbooks' signatures."""
        library = default_signatures()
        ids = [
            s
            for runbook in self.runbooks
            for s in runbook.get("symptoms", {}).get("signatures", [])
            if s in library.signatures
        ]
        return library.terms(list(dict.fromkeys(ids)))[:MAX_TERMS]

    def unnamed_units(self) -> list[str]:
        """`X.service` for each process X that logs faults while no line fetched so far names
        its unit: the unit's start line may be older than the window. X is the line's syslog
        tag or, for an application's own log without one, its host's `Service` tag; only a
        systemd line that names the unit makes it the one to restart."""
        named = " ".join(e["message"] for e in [*self.logs, *self.unit_lines])
        idents = []
        for signature in sorted(self.faults()):
            for event in self.signals[signature]:
                match = _SYSLOG_IDENT.match(event["message"])
                host = self.instances.get(str(event.get("stream")), {})
                ident = match.group(1) if match else (host.get("tags") or {}).get("Service")
                if ident and ident not in NOT_UNITS:
                    idents.append(str(ident))
        units = [f"{i}.service" for i in dict.fromkeys(idents) if f"{i}.service" not in named]
        return units[:MAX_UNIT_LOOKUPS]

    def unexplained_signatures(self) -> list[str]:
        """Fault signatures present that no retrieved runbook is about, strongest first."""
        covered = {s for r in self.runbooks for s in r.get("symptoms", {}).get("signatures", [])}
        library = default_signatures().signatures
        present = [s for s in self.faults() if s not in covered and s in library]
        return sorted(present, key=lambda s: (-library[s].weight * len(self.signals[s]), s))


def quote_log(event: dict[str, Any]) -> str:
    """A log line as evidence: where it came from, then the line itself in quotes."""
    source = f"{event.get('group')} {event.get('stream')} at {event.get('time')}"
    return f'log {source}: "{event["message"]}"'


def is_unit_lookup(call: ToolCall) -> bool:
    """The diagnostician's day-long search for the lines that name a failing process's unit."""
    return call.name == "search_logs" and call.input.get("minutes") == UNIT_LOOKBACK_MINUTES


def _departs(series: dict[str, Any]) -> bool:
    values, baseline, last = series.get("values") or [], series.get("baseline"), series.get("last")
    if not values or baseline is None or last is None:
        return False
    return _point_departs(series, last, baseline)


def _counts(series: dict[str, Any]) -> bool:
    """Whether a series counts events: `Count` in its name, or errors in whole numbers (an
    application's `ServerErrors`, `Http5xx`); not a rate, and not a 0/1 flag such as a
    status check, whose every 1 matters."""
    metric = series["metric"].lower()
    values = [float(v) for v in series.get("values") or []]
    whole = all(v.is_integer() for v in values) and not set(values) <= {0.0, 1.0}
    return "count" in metric or (whole and any(word in metric for word in ERROR_WORDS))


def _point_departs(series: dict[str, Any], value: float, baseline: float) -> bool:
    """Whether one point of a series is away from its baseline."""
    metric = series["metric"].lower()
    members = any(word in metric for word in MEMBER_WORDS)  # few by nature: each one matters
    if _counts(series) and not members and max(value, baseline) < MIN_COUNT_LEVEL:
        # 1 → 2 errors is noise, not a fault; but a small count of things that should be
        # there that halved or went to zero lost what it counts
        counts_errors = any(word in metric for word in ERROR_WORDS)
        return not counts_errors and baseline > 0 and value <= baseline / 2
    if baseline == 0:
        return bool(value > 0)  # a status check or error count leaving zero
    return not 1 / ANOMALY_RATIO < value / baseline < ANOMALY_RATIO


def _period(series: dict[str, Any]) -> int:
    """Seconds between the series' points, as the metrics tool measured them."""
    return int(series.get("period") or PERIOD_SECONDS)


def _first_departure(series: dict[str, Any]) -> int | None:
    """Index of the first point of the final run of points that depart from the baseline."""
    values, baseline = series["values"], series["baseline"]
    index = None
    for i in range(len(values) - 1, -1, -1):
        if not _point_departs(series, values[i], baseline):
            break
        index = i
    return index


def is_scaling_reaction(change: dict[str, Any]) -> bool:
    """A change Auto Scaling made on its own and carried out: a scaling policy, scheduled
    action or health replacement answering the load or a failed check. It follows the
    symptoms, it does not cause them; a launch that failed is kept, as evidence of a limit."""
    return change.get("actor") == SCALING_SERVICE and "errorCode" not in json.dumps(change)


def _change_is(change: dict[str, Any], name: str) -> bool:
    event, _, key = name.partition(":")
    if change.get("action") != event:
        return False
    return not key or key in json.dumps(change.get("detail") or {})


def instances_in_logs(evidence: Evidence) -> list[str]:
    """Instance ids named by log streams of error lines, most lines first."""
    counts: dict[str, int] = {}
    for event in evidence.logs:
        if not is_signal(event.get("message", "")):
            continue
        for instance in re.findall(r"i-[0-9a-f]{8,17}", event.get("stream", "")):
            counts[instance] = counts.get(instance, 0) + 1
    return sorted(counts, key=lambda i: -counts[i])


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
