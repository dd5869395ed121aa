"""Estimate against actual: what the capacity an incident's action added really cost.

Once the action has run, the cost over the estimate's own horizon is measured from what ran
(tools.actual_cost) and audited as `cost_checked` next to the estimate. A check made before the
horizon is over, while added instances still run, is provisional; the final one is made once.
A final figure off the estimate by more than `miss_factor` either way is a miss, and a formula
with a recent miss no longer prices an action onto autopilot (`cost_doubt`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from healer.domain import CostFormula, Incident
from healer.workflow.outcomes import realm
from healer.workflow.services import Services
from tools.actual_cost import added_capacity_cost, group_runs

CAPACITY_FORMULAS = frozenset({CostFormula.ADDED_CAPACITY_24H, CostFormula.RAISED_LIMIT_24H})
RECENT_CHECKS = 5
"""A formula is doubted while one of its last this many final checks missed."""


def adds_capacity(services: Services, incident: Incident) -> bool:
    """Whether the incident's action ran and was of a kind that adds capacity."""
    plan, execution = incident.plan, incident.execution or {}
    if plan is None or plan.action is None or execution.get("status") != "succeeded":
        return False
    return services.catalog[plan.action.action].cost in CAPACITY_FORMULAS


def check_cost(services: Services, incident: Incident) -> dict[str, Any] | None:
    """Measure and audit the actual cost of the capacity the incident added, unless a final
    figure is recorded already; the recorded data, or None when nothing was added."""
    if not adds_capacity(services, incident):
        return None
    if (final := final_check(services, incident)) is not None:
        return final
    assert incident.plan is not None and incident.plan.action is not None
    estimate, action = incident.plan.cost, incident.plan.action
    execution = incident.execution or {}
    started = datetime.fromisoformat(str(execution["started_at"]))
    intent = json.loads(execution.get("external_id") or "{}")
    before = frozenset(intent.get("members", []))
    added = _added_by_intent(intent, len(before))
    horizon = timedelta(hours=estimate.hours if estimate else 0)
    now = services.clock()
    until = min(now, started + horizon)
    ran = group_runs(services.aws.ec2, services.aws.autoscaling, action.target, started, before)
    actual = added_capacity_cost(ran, before, added, services.prices, started, until)
    done = now >= started + horizon or actual.ended
    estimated = estimate.usd if estimate else None
    ratio = (
        round(actual.usd / estimated, 3)
        if actual.usd is not None and estimated is not None and estimated > 0
        else None
    )
    factor = services.cost_miss_factor
    missed = done and ratio is not None and not (1 / factor <= ratio <= factor)
    data = {
        "action": action.action.value,
        "target": action.target,
        "formula": services.catalog[action.action].cost.value,
        "estimate_usd": estimated,
        "estimate_breakdown": estimate.breakdown if estimate else None,
        "actual_usd": actual.usd,
        "actual_breakdown": actual.breakdown,
        "instance_hours": actual.instance_hours,
        "instances": actual.instances,
        "hours_observed": round((until - started).total_seconds() / 3600, 3),
        "ratio": ratio,
        "final": done,
        "missed": missed,
        "basis": "ec2+autoscaling",
        "realm": realm(incident.world),
    }
    services.store.append(incident.id, "cost_checked", "system:costs", data)
    return data


def _added_by_intent(intent: dict[str, Any], members: int) -> int:
    """How many instances the recorded intent added: desired after, less desired before."""
    before = int(intent.get("from", members))
    return max(0, int(intent.get("desired", before)) - before)


def final_check(services: Services, incident: Incident) -> dict[str, Any] | None:
    """The incident's final cost check, if one is recorded."""
    events = services.store.events(incident.id)
    return next((e.data for e in events if e.kind == "cost_checked" and e.data.get("final")), None)


def due(services: Services, incident: Incident) -> bool:
    """Whether the incident's added capacity has run its estimate's horizon without a final
    check (a check before that would only be provisional)."""
    if not adds_capacity(services, incident) or incident.plan is None:
        return False
    hours = incident.plan.cost.hours if incident.plan.cost else 0
    started = datetime.fromisoformat(str((incident.execution or {})["started_at"]))
    if services.clock() < started + timedelta(hours=hours):
        return False
    return final_check(services, incident) is None


def cost_doubt(services: Services, formula: CostFormula, world: str) -> str | None:
    """Why estimates of `formula` are not trusted now in `world`'s realm (a recent final check
    missed), or None."""
    latest = {
        e.incident_id: e
        for e in services.store.events_of_kind("cost_checked")
        if e.data.get("formula") == formula.value
        and e.data.get("final")
        and e.data.get("realm") == realm(world)
    }
    checks = sorted(latest.values(), key=lambda e: e.gseq)[-RECENT_CHECKS:]
    missed = [e for e in checks if e.data.get("missed")]
    if not missed:
        return None
    last = missed[-1]
    return (
        f"the {formula.value} estimate missed on {len(missed)} of its last {len(checks)} checks "
        f"(actual {last.data.get('ratio')}× the estimate on {last.incident_id})"
    )
