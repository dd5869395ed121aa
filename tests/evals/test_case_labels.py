"""Every case's governance label agrees with the catalog and the default policy.

A mislabelled case cannot hide: the expected action is priced and decided here exactly as the
guardrail would, from the case's own world (tags, group capacity, prices).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from healer.cases import Case, load_answer_key, load_case
from healer.catalog import default_catalog
from healer.domain import (
    ActionId,
    ActionProposal,
    Category,
    Decision,
    IncidentScope,
    TargetFacts,
    TargetKind,
)
from healer.policy import PolicyInput, decide, unit_name
from knowledge_base.runbooks import load_runbooks
from tools.pricing import TablePriceSource, estimate_cost
from tools.scope import PROCESS_DIMENSIONS, SYSTEM_LOG_GROUP, SYSTEMD_LINE

RUNBOOKS = load_runbooks(Path(__file__).resolve().parents[2] / "runbooks")
EVALS = Path(__file__).resolve().parents[2] / "evals"
CASE_SETS = {"dev": EVALS / "cases", "holdout": EVALS / "holdout"}
CASES = sorted(path for folder in CASE_SETS.values() for path in folder.glob("*.yaml"))


def target_facts(case: Case, target: str) -> tuple[TargetFacts, str | None]:
    """The facts the guardrail reads from AWS, read from the case's world instead."""
    world = case.world
    groups = {g.name: g for g in world.autoscaling_groups}
    instance = next((i for i in world.instances if i.id == target), None)
    if instance is not None:
        group = groups.get(instance.asg) if instance.asg else None
        facts = TargetFacts(
            exists=instance.state != "terminated",
            kind=TargetKind.INSTANCE,
            tags=dict(instance.tags),
            asg_name=instance.asg,
            asg_min=group.min if group else None,
            asg_max=group.max if group else None,
            asg_desired=group.desired if group else None,
        )
        return facts, instance.type
    group = groups.get(target)
    if group is None:
        return TargetFacts(exists=False), None
    members = [i for i in world.instances if i.asg == group.name]
    facts = TargetFacts(
        kind=TargetKind.ASG,
        tags=dict(group.tags),
        asg_name=group.name,
        asg_min=group.min,
        asg_max=group.max,
        asg_desired=group.desired,
        instance_count=len(members),
    )
    return facts, group.instance_type


def incident_scope(case: Case, category: Category, action: ActionId, target: str) -> IncidentScope:
    """The scope the guardrail reads from AWS, read from the case's world instead: alarmed
    instances with their group, alarmed groups with their members (the sandbox registers no
    load-balancer targets); a runbook of the category that lists the action; units named by
    alarm dimensions or by systemd in the target's system log."""
    world = case.world
    members = {
        g.name: [i.id for i in world.instances if i.asg == g.name] for g in world.autoscaling_groups
    }
    asg_of = {i.id: i.asg for i in world.instances}
    resources: list[str] = []
    units: list[str] = []
    for alarm in world.alarms:
        dims = alarm.dimensions
        if "InstanceId" in dims:
            resources += [
                dims["InstanceId"],
                *([asg_of[dims["InstanceId"]]] if asg_of.get(dims["InstanceId"]) else []),
            ]
            if dims["InstanceId"] == target:
                units += [unit_name(dims[d]) for d in PROCESS_DIMENSIONS if dims.get(d)]
        if "AutoScalingGroupName" in dims:
            resources += [
                dims["AutoScalingGroupName"],
                *members.get(dims["AutoScalingGroupName"], []),
            ]
    for stream in world.logs:
        if stream.stream == target and SYSTEM_LOG_GROUP.search(stream.group):
            units += [
                m.group(1) for _, message in stream.events if (m := SYSTEMD_LINE.match(message))
            ]
    runbook = next(
        (r for r in RUNBOOKS if r.category == category and action in [a.action for a in r.actions]),
        None,
    )
    return IncidentScope(
        resources=tuple(resources),
        category=category,
        runbook_id=runbook.id if runbook else "none",
        runbook_category=runbook.category if runbook else None,
        runbook_actions=tuple(a.action for a in runbook.actions if a.action) if runbook else (),
        units={target: tuple(units)},
    )


def param_variants(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Both ends of every ranged parameter ({min, max}); literal values as they are."""
    choices = []
    for name, value in params.items():
        if isinstance(value, dict):
            ends = sorted({value.get("min", value.get("max")), value.get("max", value.get("min"))})
            choices.append([(name, int(v)) for v in ends])
        else:
            choices.append([(name, value)])
    return [dict(combo) for combo in itertools.product(*choices)] or [{}]


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_the_governance_label_is_what_the_policy_decides(path: Path) -> None:
    case = load_case(path)
    expected = load_answer_key(path)["expected"]
    remediation, governance = expected["remediation"], expected["governance"]
    if remediation["action"] == "none":
        assert governance["decision"] in (Decision.ESCALATE, Decision.NO_ACTION)
        assert expected["outcome"] in ("escalated", "no_action")
        return
    spec = default_catalog()[ActionId(remediation["action"])]
    facts, instance_type = target_facts(case, remediation["target"])
    prices = TablePriceSource(dict(case.world.prices))
    for params in param_variants(remediation.get("params") or {}):
        proposal = ActionProposal(action=spec.id, target=remediation["target"], params=params)
        cost = estimate_cost(
            spec, proposal, facts, instance_type, prices, params.get("instance_type")
        )
        decision = decide(
            PolicyInput(
                proposal=proposal,
                spec=spec,
                target=facts,
                cost=cost,
                confidence=1.0,
                scope=incident_scope(
                    case,
                    Category(expected["root_cause"]["category"]),
                    spec.id,
                    remediation["target"],
                ),
                now=datetime.now(UTC),
            )
        )
        label = f"{path.stem} with {params}: {decision.reasons}"
        assert decision.decision == governance["decision"], label
        if "risk" in governance:
            assert decision.risk == governance["risk"], label
        if "cost_usd" in governance and cost.usd is not None:
            bounds = governance["cost_usd"]
            assert bounds.get("min", 0) <= cost.usd <= bounds.get("max", float("inf")), label


@pytest.mark.parametrize("name", sorted(CASE_SETS))
def test_each_set_covers_every_category_decision_and_outcome(name: str) -> None:
    keys = [load_answer_key(p)["expected"] for p in sorted(CASE_SETS[name].glob("*.yaml"))]
    if len(keys) < 30:
        pytest.skip(f"the {name} set has {len(keys)} cases; coverage is checked from 30 on")
    categories = {k["root_cause"]["category"] for k in keys}
    decisions = {k["governance"]["decision"] for k in keys}
    outcomes = {k["outcome"] for k in keys}
    schema_categories = {c.value for c in Category}
    assert categories == schema_categories
    assert decisions == {"auto_heal", "needs_approval", "escalate", "no_action"}
    assert outcomes == {"resolved", "escalated", "rejected", "no_action", "expired"}
