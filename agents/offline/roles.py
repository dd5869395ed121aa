"""How the offline engine plays each agent: a fixed order of tool calls, then the answer."""

from __future__ import annotations

from typing import Any

from agents.offline import reasoning
from agents.offline.conversation import ToolCall
from agents.offline.evidence import UNIT_LOOKBACK_MINUTES, is_unit_lookup
from agents.offline.facts import fleet_fact_queries
from agents.offline.steps import Call, Say
from knowledge_base.signatures import default_signatures

MAX_SIGNATURE_SEARCHES = 3

TAIL_MINUTES = 120  # the tail read: the runbook terms' window

# CloudWatch Logs filters are case-sensitive: each spelling is its own term.
LOG_TERMS = [
    "ERROR",
    "Error",
    "error",
    "WARN",
    "FATAL",
    "CRITICAL",
    "Exception",
    "failed",
    "Failed",
    "Killed",
    "killed",
    "oom",
    "OOM",
    "segfault",
    "refused",
    "denied",
    "timed out",
    "timeout",
    "systemd",
    "space",
    "expired",
    "certificate",
    "panic",
    "memory",
    "resolve",
    "unreachable",
    "reset",
    "Unauthorized",
    "Exceeded",
    "exceeded",
    "invalid",
    "Invalid",
    "emerg",
    "parse",
    "not set",
]


def _proposal(task: dict[str, Any]) -> dict[str, Any]:
    """The catalog action a task is about, as tool input."""
    return {
        "action": task.get("action"),
        "target": task.get("target"),
        "params": task.get("params", {}),
    }


def _last(calls: list[ToolCall], name: str) -> ToolCall | None:
    found = [c for c in calls if c.name == name]
    return found[-1] if found else None


def supervisor(task: dict[str, Any], calls: list[ToolCall]) -> Call | Say:
    """diagnose → price_action → check_guardrail → RemediationPlan."""
    diagnosis_call = _last(calls, "diagnose")
    if diagnosis_call is None:
        return Call("diagnose", {"incident": reasoning.incident_brief(task)})
    diagnosis = diagnosis_call.data
    if not isinstance(diagnosis, dict):
        return Call(
            "RemediationPlan",
            {
                "diagnosis": reasoning.unknown_diagnosis("the diagnostician returned no diagnosis"),
                "action": None,
                "cost": None,
            },
        )
    action = diagnosis.get("proposed_action") if diagnosis.get("recommendation") == "act" else None
    if action and _last(calls, "price_action") is None:
        return Call("price_action", action)
    cost = _last(calls, "price_action")
    if action and _last(calls, "check_guardrail") is None:
        return Call(
            "check_guardrail",
            {
                **action,
                "confidence": diagnosis.get("confidence", 0.0),
                "category": diagnosis.get("category"),
                "runbook_id": diagnosis.get("runbook_id"),
            },
        )
    return Call(
        "RemediationPlan",
        {
            "diagnosis": diagnosis,
            "action": action,
            "cost": cost.data if cost and isinstance(cost.data, dict) else None,
        },
    )


def diagnostician(task: dict[str, Any], calls: list[ToolCall]) -> Call:
    """Alarms → resources → metrics → logs → changes → runbooks → symptom logs → the tail →
    unit start lines → runbooks for unexplained signatures and fleet facts → Diagnosis."""
    alarms = task.get("alarms", [])
    if _last(calls, "get_alarm_details") is None:
        return Call("get_alarm_details", {"alarm_names": alarms})
    evidence = reasoning.Evidence.from_calls(task, calls)
    for resource in evidence.resources_to_describe():
        if not any(
            c.name == "describe_resource" and c.input.get("resource_id") == resource for c in calls
        ):
            return Call("describe_resource", {"resource_id": resource})
    measures = [{"resource_id": r} for r in evidence.resources_to_measure()]
    measures += [{"namespace": n} for n in evidence.namespaces_to_measure()]
    for wanted in measures:
        ((key, value),) = wanted.items()
        if not any(c.name == "get_resource_metrics" and c.input.get(key) == value for c in calls):
            return Call("get_resource_metrics", {**wanted, "minutes": 60})
    log_searches = [c for c in calls if c.name == "search_logs"]
    if log_searches:  # the zones of failing hosts: only the logs tell which hosts fail
        for zone in evidence.zones_to_describe():
            if not any(
                c.name == "describe_zone" and c.input.get("availability_zone") == zone
                for c in calls
            ):
                return Call("describe_zone", {"availability_zone": zone})
    if not log_searches:
        return Call(
            "search_logs", {"terms": LOG_TERMS, "resource_ids": evidence.log_scope(), "minutes": 60}
        )
    if _last(calls, "get_recent_changes") is None:
        return Call("get_recent_changes", {"hours": 48})
    runbook_searches = [c for c in calls if c.name == "search_runbooks"]
    if not runbook_searches:
        return Call("search_runbooks", {"query": evidence.symptom_query(), "k": 5})
    if len(runbook_searches) == 1 and evidence.change_query():
        return Call("search_runbooks", {"query": evidence.change_query(), "k": 3})
    terms = evidence.runbook_log_terms()
    if len(log_searches) == 1 and terms:
        return Call(
            "search_logs", {"terms": terms, "resource_ids": evidence.log_scope(), "minutes": 120}
        )
    if not any(c.name == "search_logs" and not c.input.get("terms") for c in calls):
        return Call(  # the newest lines, as on-call reads them: what no term was written for
            "search_logs",
            {"terms": [], "resource_ids": evidence.log_scope(), "minutes": TAIL_MINUTES},
        )
    units = evidence.unnamed_units()
    if units and not any(is_unit_lookup(c) for c in calls):
        return Call(
            "search_logs",
            {
                "terms": units,
                "resource_ids": evidence.log_scope(),
                "minutes": UNIT_LOOKBACK_MINUTES,
            },
        )
    asked = {c.input.get("query") for c in runbook_searches}
    library = default_signatures().signatures
    queries = [library[s].title for s in evidence.unexplained_signatures()[:MAX_SIGNATURE_SEARCHES]]
    for query in [*queries, *fleet_fact_queries(evidence)]:
        if query not in asked:
            return Call("search_runbooks", {"query": query, "k": 3})
    return Call("Diagnosis", reasoning.diagnose(evidence))


def cost_analyst(task: dict[str, Any], calls: list[ToolCall]) -> Call:
    """estimate_cost → CostEstimate."""
    estimate = _last(calls, "estimate_cost")
    if estimate is None:
        return Call("estimate_cost", _proposal(task))
    data = estimate.data
    if isinstance(data, dict):
        return Call("CostEstimate", data)
    return Call(
        "CostEstimate", {"usd": None, "breakdown": f"pricing failed: {estimate.text[:200]}"}
    )


def remediator(task: dict[str, Any], calls: list[ToolCall]) -> Call | Say:
    """execute_action (once) → get_alarm_state → report."""
    execution = _last(calls, "execute_action")
    if execution is None:
        return Call("execute_action", _proposal(task))
    if execution.status != "success":
        return Say(f"The action was refused or failed; nothing else was tried: {execution.text}")
    if _last(calls, "get_alarm_state") is None and task.get("alarms"):
        return Call("get_alarm_state", {"alarm_names": task["alarms"]})
    states = _last(calls, "get_alarm_state")
    return Say(
        f"Executed {task.get('action')} on {task.get('target')}: {execution.text[:400]}; "
        f"alarm states: {states.text[:300] if states else 'not checked'}"
    )
