"""The offline diagnostician's reasoning: gather evidence, match runbooks, fill the action.

General rules only: knowledge of failure modes lives in the runbooks (symptoms, actions, sizing);
nothing here names a case, a resource or a string that belongs to one incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agents.offline.actions import choose_action
from agents.offline.evidence import Evidence, instances_in_logs

ACT_THRESHOLD = 5.0


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
class Match:
    runbook: dict[str, Any]
    score: float
    metric_hits: list[str]
    log_hits: list[tuple[str, dict[str, Any]]]
    change_hits: list[dict[str, Any]]


def _metric_key(text: str) -> str:
    """`Namespace:Metric` (or a bare metric name) in lower case."""
    return text.lower()


def _metric_matches(wanted: set[str], namespace: str | None, metric: str) -> bool:
    """A runbook symptom names a metric with its namespace, or the metric alone."""
    metric = metric.lower()
    qualified = f"{(namespace or '').lower()}:{metric}"
    return qualified in wanted or metric in wanted


def match_runbook(evidence: Evidence, runbook: dict[str, Any], rank: int) -> Match:
    """Score how well the evidence fits a runbook's symptoms."""
    symptoms = runbook.get("symptoms", {})
    wanted = {_metric_key(m) for m in symptoms.get("metrics", [])}
    alarm_hits = {
        a["metric"]
        for a in evidence.alarms
        if a.get("metric") and _metric_matches(wanted, a.get("namespace"), a["metric"])
    }
    anomaly_hits = {
        s["metric"]
        for s in evidence.anomalies()
        if _metric_matches(wanted, s.get("namespace"), s["metric"])
    }
    metric_hits = sorted(alarm_hits | anomaly_hits)
    score = 3.0 * min(2, len(alarm_hits)) + 1.0 * min(3, len(anomaly_hits))

    log_hits: list[tuple[str, dict[str, Any]]] = []
    for pattern in symptoms.get("logs", []):
        events = [e for e in evidence.logs if pattern.lower() in e["message"].lower()]
        quoted = {event["message"] for _, event in log_hits}
        if events:
            fresh = [e for e in events if e["message"] not in quoted]
            log_hits.append((pattern, fresh[-1] if fresh else events[-1]))
    score += 2.0 * min(4, len(log_hits))

    change_hits = [
        change
        for change in evidence.changes
        if any(word.lower() in json.dumps(change).lower() for word in symptoms.get("changes", []))
    ]
    recent_changes = evidence.recent_changes()
    recent = [c for c in change_hits if c in recent_changes]
    score += 2.0 * min(2, len(recent)) + 0.5 * min(2, len(change_hits) - len(recent))
    score += 1.0 if rank == 0 else 0.0
    return Match(runbook, score, metric_hits, log_hits, change_hits)


def recovered_diagnosis(evidence: Evidence) -> dict[str, Any] | None:
    """Every alarm of the incident is back to OK on its own: there is nothing to heal."""
    if not evidence.alarms or any(a.get("state") != "OK" for a in evidence.alarms):
        return None
    names = ", ".join(a["name"] for a in evidence.alarms)
    return {
        "category": "no_fault",
        "summary": f"No fault to heal: {names} returned to OK without any action (a transient "
        "breach or a flapping alarm). Watch for recurrence; tune the alarm if it flaps.",
        "resources": [],
        "evidence": [
            f"alarm {a['name']} is OK now: {a.get('reason', '')}"[:300] for a in evidence.alarms
        ],
        "confidence": 0.8,
        "runbook_id": None,
        "proposed_action": None,
        "recommendation": "no_action",
    }


def diagnose(evidence: Evidence) -> dict[str, Any]:
    """The Diagnosis: the best-matching runbook, its category, and its first fillable action."""
    recovered = recovered_diagnosis(evidence)
    if recovered is not None:
        return recovered
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
    proposal, recommendation, note = choose_action(evidence, best.runbook)
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
    patterns = _unique(pattern for pattern, _ in match.log_hits)
    if patterns:  # log text itself is never the healer's words: it is quoted under Evidence
        parts.append(f"Logs match {len(patterns)} of the runbook's symptom patterns.")
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


def quote_log(event: dict[str, Any]) -> str:
    """A log line as evidence: where it came from, then the line itself in quotes."""
    source = f"{event.get('group')} {event.get('stream')} at {event.get('time')}"
    return f'log {source}: "{event["message"]}"'


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _evidence_lines(evidence: Evidence, match: Match) -> list[str]:
    lines = [
        f"alarm {a['name']} is {a['state']}: {a.get('reason', '')}"[:300] for a in evidence.alarms
    ]
    lines += _unique(quote_log(event) for _, event in match.log_hits)[:4]
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


def _resources(evidence: Evidence, proposal: dict[str, Any] | None) -> list[str]:
    """The affected resources: the action's target, alarmed instances and groups, and, when
    the alarms named none, the instances whose logs carry the errors and their groups."""
    found = [proposal["target"]] if proposal else []
    if not any(r.startswith("i-") or r in evidence.groups for r in evidence.alarm_resources()):
        for instance in instances_in_logs(evidence)[:2]:
            group = evidence.instances.get(instance, {}).get("asg")
            found += [r for r in (instance, group) if r and r not in found]
    for resource in evidence.alarm_resources():
        known = resource.startswith("i-") or resource in evidence.groups
        if known and resource not in found:
            found.append(resource)
    return found
