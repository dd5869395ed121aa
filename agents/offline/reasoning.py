"""The offline diagnostician's reasoning, in stages a reader can follow:

1. facts that settle the incident (alarm back to OK, target gone, planned maintenance);
2. hypotheses: each retrieved runbook scored against the evidence — alarmed and anomalous
   metrics, log lines classified into symptom signatures, a change that precedes the onset,
   and the fleet's shape (one zone failing, a group pinned at its max);
3. the best hypothesis, with a confidence from its score and its margin over a rival of
   another category, or `unknown` when the evidence is weak;
4. the runbook's first action whose preconditions hold (see actions.py).

General rules only: knowledge of failure modes lives in the runbooks and the signature
library; nothing here names a case, a resource or a string that belongs to one incident.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agents.offline.actions import choose_action, first_action, target_misfit
from agents.offline.evidence import Evidence, instances_in_logs, quote_log
from agents.offline.facts import group_at_max, nothing_to_do, zonal_pattern
from agents.offline.templates import template
from knowledge_base.signatures import default_signatures

ACT_THRESHOLD = 5.0
CATEGORY_THRESHOLD = 3.0  # an alarmed symptom: enough to name a category, not a fix
ALARM_WEIGHT, ANOMALY_WEIGHT, SIGNATURE_WEIGHT, CHANGE_WEIGHT = 3.0, 1.0, 2.5, 2.0
ZONAL_WEIGHT, AT_MAX_WEIGHT, RULED_OUT_PENALTY, STATUS_CHECK_WEIGHT = 6.0, 3.0, 3.0, 3.0
PAST_FACTOR = 0.5  # a signature whose lines stopped well before the end counts half
CLOSE_RIVAL = 1.5
MAX_QUOTED_LINES = 8
SYMPTOM_KINDS = (re.compile(r"5xx|server_?errors?"), re.compile(r"latency|response_?time"))

__all__ = ["Evidence", "diagnose", "incident_brief", "quote_log", "unknown_diagnosis"]


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
class Hypothesis:
    """One runbook as the explanation, with the evidence for it and its score."""

    runbook: dict[str, Any]
    score: float = 0.0
    metric_hits: list[str] = field(default_factory=list)
    signature_hits: list[str] = field(default_factory=list)
    change_hits: list[dict[str, Any]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def category(self) -> str:
        return str(self.runbook["category"])


def _metric_matches(wanted: set[str], namespace: str | None, metric: str) -> bool:
    """A runbook symptom names a metric with its namespace, or the metric alone; an
    application's own metric (outside AWS/) matches by the symptom it counts: server errors
    or latency, whatever the team called it."""
    name = metric.lower()
    if f"{(namespace or '').lower()}:{name}" in wanted or name in wanted:
        return True
    if (namespace or "").startswith("AWS/"):
        return False
    return any(kind.search(name) and any(kind.search(w) for w in wanted) for kind in SYMPTOM_KINDS)


def weigh(evidence: Evidence, runbook: dict[str, Any], rank: int) -> Hypothesis:
    """Score how well the evidence supports a runbook's failure mode."""
    library = default_signatures().signatures
    symptoms = runbook.get("symptoms", {})
    hypothesis = Hypothesis(runbook)
    wanted = {m.lower() for m in symptoms.get("metrics", [])}
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
    hypothesis.metric_hits = sorted(alarm_hits | anomaly_hits)
    score = ALARM_WEIGHT * min(2, len(alarm_hits)) + ANOMALY_WEIGHT * min(3, len(anomaly_hits))

    present = [s for s in symptoms.get("signatures", []) if s in evidence.signals and s in library]
    hypothesis.signature_hits = present
    weights = sorted(
        (library[s].weight * (1.0 if evidence.ongoing(s) else PAST_FACTOR) for s in present),
        reverse=True,
    )
    score += SIGNATURE_WEIGHT * sum(weights[:3])
    ruled_out = _ruled_out_by(evidence, runbook)
    if ruled_out:  # the runbook's own rule says this evidence belongs to another failure mode
        score -= RULED_OUT_PENALTY
        hypothesis.facts.append(f"its first action is ruled out: {library[ruled_out].title}")
    misfit = target_misfit(evidence, runbook)
    if misfit:  # the runbook is written for another shape of fleet (group member, standalone)
        score -= RULED_OUT_PENALTY
        hypothesis.facts.append(f"its first action does not fit: {misfit}")

    if score > 0:  # a change counts only next to symptoms of its own failure mode
        hypothesis.change_hits = evidence.changes_before_onset(symptoms.get("changes", []))
        score += CHANGE_WEIGHT * min(2, len(hypothesis.change_hits))

    actions = {a.get("action") for a in runbook.get("actions", [])}
    zonal = zonal_pattern(evidence)
    if zonal and runbook["category"] == "az_impairment":
        score += ZONAL_WEIGHT
        hypothesis.facts.append(f"{len(zonal[1])} failing instances all in {zonal[0]}")
    impaired = evidence.impaired()
    if impaired and not zonal and runbook["category"] == "instance_failure":
        score += STATUS_CHECK_WEIGHT
        hypothesis.facts.append(f"{', '.join(impaired[:3])} fails its EC2 status checks")
    at_max = group_at_max(evidence)
    if at_max and "raise_capacity_limit" in actions:
        name, hot = at_max
        score += AT_MAX_WEIGHT if hot else AT_MAX_WEIGHT / 2
        hypothesis.facts.append(f"{name} is at its max size" + (" with hot CPU" if hot else ""))
    elif at_max and at_max[1] and "scale_out" in actions:
        score -= AT_MAX_WEIGHT
    elif evidence.alarmed_groups() and "raise_capacity_limit" in actions:
        score -= AT_MAX_WEIGHT  # every alarmed group can still grow: no limit is hit
    hypothesis.score = score + (0.5 if rank == 0 else 0.0)
    return hypothesis


def _ruled_out_by(evidence: Evidence, runbook: dict[str, Any]) -> str | None:
    """An ongoing signature that the runbook's first catalog action lists under `unless`."""
    action = first_action(runbook) or {}
    for signature in action.get("unless") or []:
        if evidence.rules_out(signature, action.get("requires") or []):
            return str(signature)
    return None


def diagnose(evidence: Evidence) -> dict[str, Any]:
    """The Diagnosis: facts first, then the best-supported runbook and its first action."""
    settled = nothing_to_do(evidence)
    if settled is not None:
        return settled
    if not evidence.runbooks:
        return unknown_diagnosis("no runbook matches the symptoms")
    ranked = sorted(
        (weigh(evidence, rb, rank) for rank, rb in enumerate(evidence.runbooks)),
        key=lambda h: -h.score,
    )
    best = ranked[0]
    rival = next((h for h in ranked[1:] if h.category != best.category), None)
    if best.score < ACT_THRESHOLD:
        return _too_weak_to_act(evidence, best, rival)
    proposal, recommendation, note = choose_action(evidence, best.runbook)
    return {
        "category": best.category,
        "summary": _summary(evidence, best, rival, proposal, note),
        "resources": _resources(evidence, proposal),
        "evidence": _evidence_lines(evidence, best),
        "confidence": _confidence(best, rival),
        "runbook_id": best.runbook["runbook_id"],
        "proposed_action": proposal,
        "recommendation": recommendation,
    }


def _too_weak_to_act(
    evidence: Evidence, best: Hypothesis, rival: Hypothesis | None
) -> dict[str, Any]:
    """Escalate without a fix; name the category when the evidence points at one plainly (an
    alarmed symptom of it, no other category close) though at no one runbook of it."""
    why = (
        f"the evidence is too weak: the best runbook ({best.runbook['runbook_id']}) is "
        f"supported by {_support(best)}"
    )
    diagnosis = unknown_diagnosis(why)
    diagnosis["evidence"] = _evidence_lines(evidence, best)
    diagnosis["resources"] = _resources(evidence, None)
    clear = rival is None or best.score - rival.score >= CLOSE_RIVAL
    if best.score >= CATEGORY_THRESHOLD and clear:
        diagnosis["category"] = best.category
        diagnosis["summary"] = (
            f"Likely {best.category.replace('_', ' ')}, cause not settled: {why}. "
            "No fix is chosen; a human looks."
        )
        diagnosis["confidence"] = 0.35
    return diagnosis


def _confidence(best: Hypothesis, rival: Hypothesis | None) -> float:
    """Grows with the evidence; a close rival of another category halves the gain."""
    gain = 0.07 * best.score
    if rival is not None and best.score - rival.score < CLOSE_RIVAL:
        gain /= 2
    return round(min(0.95, 0.3 + gain), 2)


def _support(hypothesis: Hypothesis) -> str:
    parts = [f"metrics {', '.join(hypothesis.metric_hits)}"] if hypothesis.metric_hits else []
    if hypothesis.signature_hits:
        parts.append(f"log signatures {', '.join(hypothesis.signature_hits)}")
    return " and ".join(parts) or "nothing specific"


def _summary(
    evidence: Evidence,
    best: Hypothesis,
    rival: Hypothesis | None,
    proposal: dict[str, Any] | None,
    note: str,
) -> str:
    library = default_signatures().signatures
    parts = [best.runbook["title"] + "."]
    resources = _resources(evidence, proposal)
    if resources:
        parts.append(f"Affected: {', '.join(resources[:4])}.")
    service = ((proposal or {}).get("params") or {}).get("service")
    if service:
        parts.append(f"Service: {service}.")
    if best.signature_hits:  # the healer's words for what the lines report; the lines are quoted
        titles = [library[s].title for s in best.signature_hits]
        parts.append(f"Logs show that {'; '.join(titles)}.")
    for series in evidence.anomalies()[:3]:
        parts.append(
            f"{series['metric']}{_of(series)} went from a baseline of {series['baseline']} to "
            f"{series['last']}"
            + (f" ({series['change_ratio']}×)." if series.get("change_ratio") else ".")
        )
    parts += [f"{fact[0].upper()}{fact[1:]}." for fact in best.facts]
    if best.change_hits:
        change = best.change_hits[-1]
        parts.append(
            f"Change before the onset: {change.get('action')} by {change.get('actor')} at "
            f"{change.get('time')}."
        )
    if rival is not None and best.score - rival.score < CLOSE_RIVAL:
        parts.append(f"A close alternative: {rival.runbook['title']}.")
    if note:
        parts.append(note)
    return " ".join(parts)


def _of(series: dict[str, Any]) -> str:
    """ " of <resource>" for a series whose resource is not one of the fleet's own ids."""
    names = [str(v) for v in (series.get("dimensions") or {}).values()]
    return f" of {names[0]}" if len(names) == 1 and not names[0].startswith("i-") else ""


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _evidence_lines(evidence: Evidence, best: Hypothesis) -> list[str]:
    lines = [
        f"alarm {a['name']} is {a['state']}: {a.get('reason', '')}"[:300] for a in evidence.alarms
    ]
    lines += _unique(quote_log(event) for event in _deciding_lines(evidence, best))
    lines += [
        f"metric {s['namespace']} {s['metric']}: baseline {s['baseline']}, last {s['last']}, "
        f"max {s['max']}"
        for s in evidence.anomalies()[:4]
    ]
    lines += [f"fact: {fact}" for fact in best.facts]
    lines += [
        f"change: {c.get('action')} on {', '.join(map(str, c.get('resources') or []))} "
        f"by {c.get('actor')} at {c.get('time')}"
        for c in best.change_hits[-2:]
    ]
    return lines


def _deciding_lines(evidence: Evidence, best: Hypothesis) -> list[dict[str, Any]]:
    """Per deciding signature, its first lines of distinct kinds (where the fault began) and
    its latest line (that it goes on); then the first line of each other fault present."""
    chosen: list[dict[str, Any]] = []
    for signature in best.signature_hits:
        events = evidence.signals[signature]
        kinds: dict[str, dict[str, Any]] = {}
        for event in events:
            kinds.setdefault(template(event["message"]), event)
        chosen += [e for e in [*list(kinds.values())[:3], events[-1]] if e not in chosen]
    for signature in sorted(evidence.faults() - set(best.signature_hits)):  # what else is wrong
        first = evidence.signals[signature][0]
        chosen += [first] if first not in chosen else []
    return chosen[:MAX_QUOTED_LINES]


def _resources(evidence: Evidence, proposal: dict[str, Any] | None) -> list[str]:
    """The affected resources: the action's target, alarmed instances and groups, and, when
    the alarms named none, the instances whose logs carry the faults and their groups."""
    found = [proposal["target"]] if proposal else []
    if not any(r.startswith("i-") or r in evidence.groups for r in evidence.alarm_resources()):
        for instance in (evidence.fault_instances() or instances_in_logs(evidence))[:2]:
            group = evidence.instances.get(instance, {}).get("asg")
            found += [r for r in (instance, group) if r and r not in found]
    for resource in evidence.alarm_resources():
        known = resource.startswith("i-") or resource in evidence.groups
        if known and resource not in found:
            found.append(resource)
    return found
