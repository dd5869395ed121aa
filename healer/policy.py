"""The guardrail: a pure function from a plan and its context to a governance decision.

This is code the model cannot reach. It implements the default policy of the replay-case spec:

1. an action not in the catalog, with invalid parameters, or on a target without
   `healer:managed=true` is refused and the incident escalated;
2. cost above the approval threshold, an unknown cost, a cost from a formula whose estimates
   recently missed the actual cost, or high risk -> needs_approval;
3. context raises risk: more than one instance touched, or a scale step above 50 % of current
   capacity -> at least medium; capacity below the ASG's min, or a stateful instance restarted,
   replaced or resized -> high;
4. the same action on the same resource within the cooldown, or too many actions on one resource
   within an hour -> needs_approval;
5. confidence below the minimum -> needs_approval;
6. the plan does not belong to its incident -> needs_approval: its target is outside the scope
   AWS gives the incident, the cited runbook is missing, is for another category or does not list
   the action, or a restarted unit is not tied to the incident by facts;
7. autonomy: an action type in `approval` mode, or in `earned` mode without a record that meets
   the bar (healer.trust) -> needs_approval; in `shadow` mode the decision is marked `shadow`
   and nothing may run on it;
8. otherwise -> auto_heal.

Restarting a host-critical unit (sshd, the SSM agent, auditd, ...) is high risk; so is
restarting, isolating, replacing or resizing a stateful instance.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from healer.domain import (
    ActionId,
    ActionProposal,
    ActionSpec,
    CostEstimate,
    Decision,
    GovernanceDecision,
    IncidentScope,
    PastAction,
    Risk,
    TargetFacts,
    TargetKind,
    plan_hash,
)
from healer.trust import AutonomyCheck, Mode

STATEFUL_SENSITIVE = {
    ActionId.RESTART_SERVICE,
    ActionId.RESTART_INSTANCE,
    ActionId.REPLACE_INSTANCE,
    ActionId.ISOLATE_INSTANCE,
    ActionId.RESIZE_INSTANCE,
}
HOST_CRITICAL_UNITS = frozenset(
    {
        "sshd",
        "ssh",
        "amazon-ssm-agent",
        "snap.amazon-ssm-agent.amazon-ssm-agent",
        "auditd",
        "rsyslog",
        "dbus",
        "network",
        "NetworkManager",
        "cloud-init",
        "chronyd",
        "crond",
        "cron",
    }
)
"""Units whose restart can cut operators, the healer or the audit off the host."""


def unit_name(service: str) -> str:
    """A systemd unit as named without its `.service` suffix."""
    return service.removesuffix(".service")


class PolicySettings(BaseModel):
    """Tunable limits of the default policy."""

    model_config = ConfigDict(frozen=True)

    approval_threshold_usd: float = 20.0
    cooldown: timedelta = timedelta(minutes=30)
    max_actions_per_hour: int = 3
    min_confidence: float = 0.6
    approval_ttl: timedelta = timedelta(minutes=30)


class PolicyInput(BaseModel):
    """Everything the guardrail looks at. Built from AWS facts, never from model claims alone."""

    model_config = ConfigDict(frozen=True)

    recommendation: Literal["act", "escalate", "no_action"] = "act"
    proposal: ActionProposal | None = None
    spec: ActionSpec | None = None
    target: TargetFacts = Field(default_factory=TargetFacts)
    cost: CostEstimate | None = None
    confidence: float = 0.0
    suggested_risk: Risk | None = None
    history: tuple[PastAction, ...] = ()
    scope: IncidentScope | None = None
    document_sha256: str | None = None
    requested_by: str | None = Field(
        default=None, description="The human who asked for the action (in chat), if one did."
    )
    autonomy: AutonomyCheck | None = None
    cost_doubt: str | None = Field(
        default=None, description="why the cost formula's estimates are not trusted now"
    )
    now: datetime


def decide(plan: PolicyInput, settings: PolicySettings | None = None) -> GovernanceDecision:
    """Decide auto_heal, needs_approval, escalate or no_action for a plan, with reasons."""
    settings = settings or PolicySettings()
    if plan.proposal is None or plan.recommendation != "act":
        return _without_action(plan)

    refusal = _refusal(plan)
    if refusal:
        return GovernanceDecision(decision=Decision.ESCALATE, risk=Risk.HIGH, reasons=(refusal,))
    assert plan.spec is not None
    proposal = plan.proposal.model_copy(
        update={"params": plan.spec.validate_params(plan.proposal.params)}
    )
    risk, reasons = assess_risk(plan)
    approval_reasons = _approval_reasons(plan, risk, settings)
    autonomy = plan.autonomy
    if autonomy is not None and (why := autonomy.approval_reason()):
        approval_reasons.append(why)
    decision = Decision.NEEDS_APPROVAL if approval_reasons else Decision.AUTO_HEAL
    if not approval_reasons:
        approval_reasons = ["low risk, cost within the threshold, confidence sufficient"]
        if autonomy is not None and autonomy.mode is Mode.EARNED:
            approval_reasons.append(f"autopilot earned: {autonomy.standing.why}")
    shadow = autonomy is not None and autonomy.mode is Mode.SHADOW
    if shadow:
        approval_reasons.append("shadow mode: what would be done is recorded, nothing runs")
    return GovernanceDecision(
        decision=decision,
        risk=risk,
        shadow=shadow,
        reasons=tuple(reasons + approval_reasons),
        plan_hash=plan_hash(
            proposal,
            cost_usd=plan.cost.usd if plan.cost else None,
            document_sha256=plan.document_sha256,
            facts=plan.target,
        ),
    )


def _without_action(plan: PolicyInput) -> GovernanceDecision:
    if plan.recommendation == "no_action":
        return GovernanceDecision(
            decision=Decision.NO_ACTION, risk=Risk.LOW, reasons=("diagnosis found no fault",)
        )
    reason = (
        "diagnosis recommends a human"
        if plan.recommendation == "escalate"
        else "no catalog action was proposed"
    )
    return GovernanceDecision(decision=Decision.ESCALATE, risk=Risk.HIGH, reasons=(reason,))


def _refusal(plan: PolicyInput) -> str | None:
    assert plan.proposal is not None
    if plan.spec is None or plan.spec.id != plan.proposal.action:
        return f"action {plan.proposal.action} is not in the catalog"
    try:
        plan.spec.validate_params(plan.proposal.params)
    except ValueError as exc:
        return f"invalid parameters: {exc}"
    target = plan.target
    if not target.exists:
        return f"target {plan.proposal.target} does not exist"
    if not _target_kind_fits(plan.spec.target, target):
        return f"{plan.spec.id} needs a target of kind {plan.spec.target}, got {target.kind}"
    if not target.managed:
        return f"target {plan.proposal.target} is not tagged healer:managed=true"
    if _exceeds_max(plan):
        count = plan.proposal.params["count"]
        return f"scale_out by {count} would exceed the ASG's max size {target.asg_max}"
    return None


def _exceeds_max(plan: PolicyInput) -> bool:
    assert plan.spec is not None and plan.proposal is not None
    count, maximum = plan.proposal.params.get("count"), plan.target.asg_max
    if plan.spec.id != ActionId.SCALE_OUT or not isinstance(count, int) or maximum is None:
        return False
    return (plan.target.asg_desired or 0) + count > maximum


def _target_kind_fits(required: TargetKind, target: TargetFacts) -> bool:
    if required == TargetKind.INSTANCE_IN_ASG:
        return target.kind == TargetKind.INSTANCE and target.asg_name is not None
    return target.kind == required


def assess_risk(plan: PolicyInput) -> tuple[Risk, list[str]]:
    """Base risk from the catalog, raised (never lowered) by context and by the model."""
    assert plan.spec is not None and plan.proposal is not None
    risk = plan.spec.base_risk
    reasons = [f"base risk of {plan.spec.id} is {risk}"]

    def raise_to(level: Risk, why: str) -> None:
        nonlocal risk
        if level.rank > risk.rank:
            risk = level
            reasons.append(f"risk raised to {level}: {why}")

    action, target = plan.spec.id, plan.target
    touched = _instances_touched(action, target)
    if touched > 1:
        raise_to(Risk.MEDIUM, f"touches {touched} instances")
    step, current = _scale_step(plan)
    if step is not None and current is not None and (current == 0 or step > 0.5 * current):
        raise_to(Risk.MEDIUM, f"scale step of {step} is above 50 % of current capacity {current}")
    if _below_min(plan):
        raise_to(Risk.HIGH, "capacity would drop below the ASG's minimum")
    if target.stateful and action in STATEFUL_SENSITIVE:
        raise_to(Risk.HIGH, "target is tagged healer:stateful=true")
    service = plan.proposal.params.get("service")
    if action == ActionId.RESTART_SERVICE and unit_name(str(service)) in HOST_CRITICAL_UNITS:
        raise_to(Risk.HIGH, f"restarting {service} can cut operators or the healer off the host")
    if plan.suggested_risk is not None:
        raise_to(plan.suggested_risk, "the diagnosis rated it so")
    return risk, reasons


def _instances_touched(action: ActionId, target: TargetFacts) -> int:
    """Existing instances an action changes: a rollback refreshes the whole group."""
    if action == ActionId.ROLLBACK_DEPLOYMENT:
        return target.asg_desired or 0
    if target.kind == TargetKind.ASG:
        return 0  # scaling adds instances, it changes none of the running ones
    return target.instance_count


def _scale_step(plan: PolicyInput) -> tuple[int | None, int | None]:
    assert plan.proposal is not None
    params, current = plan.proposal.params, plan.target.asg_desired
    if plan.proposal.action == ActionId.SCALE_OUT:
        return int(params.get("count", 0)), current
    if plan.proposal.action == ActionId.RAISE_CAPACITY_LIMIT and current is not None:
        return int(params.get("desired", current)) - current, current
    return None, current


def _below_min(plan: PolicyInput) -> bool:
    assert plan.proposal is not None
    target, params = plan.target, plan.proposal.params
    if target.asg_min is None or target.asg_desired is None:
        return False
    if plan.proposal.action == ActionId.RAISE_CAPACITY_LIMIT:
        return int(params.get("desired", target.asg_desired)) < target.asg_min
    return False


def _approval_reasons(plan: PolicyInput, risk: Risk, settings: PolicySettings) -> list[str]:
    assert plan.proposal is not None
    reasons = []
    cost = plan.cost
    if cost is None or cost.usd is None:
        reasons.append("cost is unknown")
    elif cost.usd != cost.usd or cost.usd < 0:  # NaN or negative: an invalid estimate
        reasons.append(f"cost estimate {cost.usd} is invalid")
    elif cost.usd > settings.approval_threshold_usd:
        reasons.append(
            f"cost ${cost.usd:.2f} is above the ${settings.approval_threshold_usd:.2f} threshold"
        )
    if risk == Risk.HIGH:
        reasons.append("risk is high")
    if plan.cost_doubt and cost is not None and cost.usd:
        reasons.append(f"cost may be wrong: {plan.cost_doubt}")
    if plan.requested_by:
        reasons.append(f"asked for by {plan.requested_by}: another human must approve it")
    same = [
        past
        for past in plan.history
        if past.target == plan.proposal.target and plan.now - past.at <= timedelta(hours=1)
    ]
    if any(
        past.action == plan.proposal.action and plan.now - past.at <= settings.cooldown
        for past in same
    ):
        reasons.append(f"same action on the same resource within the {settings.cooldown} cooldown")
    if len(same) >= settings.max_actions_per_hour:
        reasons.append(f"{len(same)} actions on {plan.proposal.target} within the last hour")
    if not plan.confidence >= settings.min_confidence:  # NaN is no confidence
        reasons.append(
            f"confidence {plan.confidence:.2f} is below the minimum {settings.min_confidence:.2f}"
        )
    return reasons + scope_reasons(plan)


def scope_reasons(plan: PolicyInput) -> list[str]:
    """Why the plan may not belong to its incident (empty when it does)."""
    assert plan.proposal is not None
    scope, proposal = plan.scope, plan.proposal
    if scope is None:
        return ["the incident's scope is unknown"]
    reasons = []
    if proposal.target not in scope.resources:
        inside = ", ".join(scope.resources) or "nothing"
        reasons.append(
            f"target {proposal.target} is outside the incident's scope (AWS places {inside} in it)"
        )
    if scope.runbook_id is None:
        reasons.append("no runbook is cited")
    elif scope.runbook_category is None:
        reasons.append(f"runbook {scope.runbook_id} does not exist")
    else:
        if scope.category is not None and scope.runbook_category != scope.category:
            reasons.append(
                f"runbook {scope.runbook_id} is for {scope.runbook_category}, "
                f"not the diagnosed {scope.category}"
            )
        if proposal.action not in scope.runbook_actions:
            reasons.append(f"runbook {scope.runbook_id} does not list {proposal.action}")
    if proposal.action == ActionId.RESTART_SERVICE:
        unit = unit_name(str(proposal.params.get("service")))
        if unit not in scope.units.get(proposal.target, ()):
            reasons.append(
                f"unit {unit} is not tied to the incident by facts on {proposal.target} (an "
                "alarm's metric dimensions, the runbook, or systemd's own report on the host)"
            )
    return reasons
