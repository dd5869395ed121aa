"""The workflow steps after ingest. Each takes the incident, does one thing, names the next step.

The same functions run embedded (the local runner) and on AWS (Step Functions tasks).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, Literal

from agents.team import Effort, IncidentTeam
from healer.domain import (
    ActionProposal,
    Approval,
    ApprovalStatus,
    CostEstimate,
    Decision,
    GovernanceDecision,
    Incident,
    Outcome,
    PastAction,
    RemediationPlan,
    Risk,
    Step,
    TargetFacts,
)
from healer.errors import ActionRejected, ApprovalRequired, ToolInputError
from healer.trust import NO_RUNBOOK, AutonomyCheck, standing
from healer.workflow.costs import cost_doubt
from healer.workflow.outcomes import (
    record_outcome,
    result_at_close,
    trust_record,
    trust_records,
)
from healer.workflow.services import Services
from knowledge_base.prior import WeightedRetriever, effectiveness
from tools.aws import AwsClients
from tools.cloudwatch import alarm_states
from tools.context import ToolContext
from tools.fleet import target_facts
from tools.guardrail import IncidentRef, evaluate_plan
from tools.remediation import Blocked, Executor, Recheck

log = logging.getLogger(__name__)


def team_for(
    services: Services, incident: Incident, reads: AwsClients | None = None
) -> IncidentTeam:
    """The agents of one incident, wired to its tools and the guardrail; the diagnostic tools
    read through `reads` (default: the services' clients), actions always go to AWS."""
    audit_blocked = _blocked_recorder(services, incident.id)
    executor = Executor(
        services.aws,
        services.catalog,
        services.store,
        services.automation,
        services.clock,
        recheck=_recheck(services, incident),
        on_blocked=audit_blocked,
        observers=services.observers,
        instance_refresh=services.instance_refresh,
        poll_seconds=min(2.0, services.verify_poll_seconds),
    )
    ctx = ToolContext(
        incident_id=incident.id,
        aws=reads or services.aws,
        catalog=services.catalog,
        retriever=WeightedRetriever(
            services.retriever,
            effectiveness(trust_records(services.store, incident.world).values()),
        ),
        runbooks=services.runbooks,
        prices=services.prices,
        executor=executor,
        clock=services.clock,
        trail_log_group=services.trail_log_group,
    )
    history = [a for r in incident.resources for a in _history(services, incident, r)]
    return IncidentTeam(
        ctx,
        services.model_factory(),
        history,
        services.policy,
        services.store.for_incident,
        incident.alarms,
        audit_blocked,
    )


def _history(services: Services, incident: Incident, target: str) -> list[PastAction]:
    """Actions on `target` within the last hour, by any incident of the same world."""
    since = services.clock() - timedelta(hours=1)
    return services.store.past_actions(target, since, incident.world)


def _blocked_recorder(services: Services, incident_id: str) -> Blocked:
    def record(reason: str, attempted: dict[str, Any]) -> None:
        services.store.append(
            incident_id, "action_blocked", "guardrail", {"reason": reason, "attempted": attempted}
        )

    return record


def _ref(incident: Incident) -> IncidentRef:
    diagnosis = incident.plan.diagnosis if incident.plan else None
    return IncidentRef(
        tuple(incident.alarms),
        diagnosis.category if diagnosis else None,
        diagnosis.runbook_id if diagnosis else None,
        incident.requested_by,
    )


def _decide(
    services: Services, incident: Incident, proposal: ActionProposal | None
) -> tuple[GovernanceDecision, CostEstimate | None]:
    """The guardrail's decision on a proposal, from facts read now."""
    plan = _plan(incident)
    recommendation = plan.diagnosis.recommendation
    return evaluate_plan(
        services.aws,
        services.catalog,
        services.prices,
        proposal,
        incident=_ref(incident),
        runbooks=services.runbooks,
        recommendation="act" if proposal else _no_act(recommendation),
        confidence=plan.diagnosis.confidence,
        history=_history(services, incident, proposal.target) if proposal else [],
        now=services.clock(),
        settings=services.policy,
        suggested_risk=plan.suggested_risk,
        autonomy=_autonomy(services, incident, proposal) if proposal else None,
        cost_doubt=_cost_doubt(services, incident, proposal),
    )


def _cost_doubt(
    services: Services, incident: Incident, proposal: ActionProposal | None
) -> str | None:
    spec = services.catalog.get(proposal.action) if proposal else None
    return cost_doubt(services, spec.cost, incident.world) if spec else None


def _autonomy(
    services: Services, incident: Incident, proposal: ActionProposal
) -> Callable[[TargetFacts], AutonomyCheck]:
    """The autonomy of a proposal on a target, and what its record has earned."""
    runbook = _plan(incident).diagnosis.runbook_id or NO_RUNBOOK
    key = (proposal.action.value, runbook)
    record = trust_record(services.store, key, incident.world)
    others = [  # a plan on a group of a shadowed instance is shadowed too
        target_facts(services.aws.ec2, services.aws.autoscaling, resource)[0].tags
        for resource in incident.resources
        if services.autonomy.shadows_by_tag and resource != proposal.target
    ]

    def check(facts: TargetFacts) -> AutonomyCheck:
        mode = services.autonomy.mode(proposal.action.value, incident.account, facts.tags, *others)
        return AutonomyCheck(mode=mode, standing=standing(record, services.autonomy.bar), key=key)

    return check


def _recheck(services: Services, incident: Incident) -> Recheck:
    def recheck(proposal: ActionProposal) -> GovernanceDecision:
        return _decide(services, incident, proposal)[0]

    return recheck


def _record_effort(services: Services, incident_id: str, effort: Effort) -> None:
    """Add an agent team's work to the incident's effort (model and tool calls, tokens)."""
    totals = services.effort.setdefault(incident_id, {})
    for name, value in asdict(effort).items():
        totals[name] = totals.get(name, 0) + value


def investigate(services: Services, incident: Incident) -> Incident:
    """The supervisor's agents diagnose, price and propose: a RemediationPlan. What they read
    of the account is asked once per question (the world does not change while they look)."""
    team = team_for(services, incident, reads=services.aws.reading_once())
    plan = team.supervisor(
        {
            "incident_id": incident.id,
            "alarms": incident.alarms,
            "resources": incident.resources,
            "opened_at": incident.opened_at.isoformat(),
            "account": incident.account,
            "region": incident.region,
        }
    )
    _record_effort(services, incident.id, team.effort)
    services.store.append(
        incident.id, "diagnosed", "agent:diagnostician", plan.diagnosis.model_dump(mode="json")
    )
    if plan.cost is not None:
        services.store.append(
            incident.id, "cost_estimated", "agent:cost_analyst", plan.cost.model_dump(mode="json")
        )
    incident.plan = plan
    incident.step = Step.GOVERN
    return incident


def govern(services: Services, incident: Incident) -> Incident:
    """The guardrail decides, from facts read now and a cost computed in code. Safe to re-run:
    the approval's id is derived from the incident and the plan, so a re-run finds it."""
    plan = _plan(incident)
    diagnosis = plan.diagnosis
    proposal = plan.action if diagnosis.recommendation == "act" else None
    now = services.clock()
    decision, cost = _decide(services, incident, proposal)
    data: dict[str, Any] = {
        **decision.model_dump(mode="json"),
        "action": proposal.model_dump(mode="json") if proposal else None,
        "cost": cost.model_dump(mode="json") if cost else None,
    }
    if cost and plan.cost and cost.usd != plan.cost.usd:
        data["cost_claimed_by_agent"] = plan.cost.usd
    services.store.append(incident.id, "governance_decided", "guardrail", data)
    incident.governance = decision
    if cost is not None:
        incident.plan = plan.model_copy(update={"cost": cost})

    acting = decision.decision in (Decision.AUTO_HEAL, Decision.NEEDS_APPROVAL)
    if acting and decision.shadow:
        services.store.append(
            incident.id,
            "shadow_decided",
            "guardrail",
            {"would": decision.decision.value, **data, "summary": diagnosis.summary},
        )
        incident.step = Step.AWAIT_FIX
        return incident
    if acting:
        assert decision.plan_hash is not None and proposal is not None
        approval = services.store.create(_approval(services, incident, decision, proposal, now))
        incident.approval_id = approval.id
        clear = {
            "approval_id": approval.id,
            "plan_hash": approval.plan_hash,
            **proposal.model_dump(mode="json"),
            "cost": data["cost"],
            "risk": decision.risk.value,
            "reasons": list(decision.reasons),
        }
        if approval.automatic:
            services.store.append(
                incident.id, "approved", "guardrail", {**clear, "automatic": True}
            )
            incident.step = Step.REMEDIATE
            return incident
        message = services.channel.request(incident, incident.plan or plan, decision, approval)
        services.store.append(
            incident.id,
            "approval_requested",
            "guardrail",
            {
                **clear,
                "expires_at": approval.expires_at.isoformat(),
                "approvers": services.approvers,
                "approvals_needed": approval.approvals_needed,
                "requested_by": approval.requested_by,
                "message": message,
            },
        )
        incident.step = Step.AWAIT_APPROVAL
        return incident

    if decision.decision == Decision.ESCALATE:
        services.store.append(
            incident.id,
            "escalated",
            "guardrail",
            {"reasons": list(decision.reasons), "summary": diagnosis.summary},
        )
        incident.outcome = Outcome.ESCALATED
    else:
        incident.outcome = Outcome.NO_ACTION
    incident.step = Step.CLOSE
    return incident


def _approval(
    services: Services,
    incident: Incident,
    decision: GovernanceDecision,
    proposal: ActionProposal,
    now: datetime,
) -> Approval:
    assert decision.plan_hash is not None
    automatic = decision.decision == Decision.AUTO_HEAL
    seed = f"{incident.id}:{decision.plan_hash}".encode()
    return Approval(
        id=f"apr-{hashlib.sha256(seed).hexdigest()[:12]}",
        incident_id=incident.id,
        plan_hash=decision.plan_hash,
        status=ApprovalStatus.APPROVED if automatic else ApprovalStatus.PENDING,
        automatic=automatic,
        requested_at=now,
        expires_at=now + services.policy.approval_ttl,
        decided_by="guardrail" if automatic else None,
        decided_at=now if automatic else None,
        plan=proposal,
        requested_by=incident.requested_by,
        approvals_needed=services.high_risk_approvals if decision.risk == Risk.HIGH else 1,
    )


def _no_act(recommendation: str) -> Literal["escalate", "no_action"]:
    return "no_action" if recommendation == "no_action" else "escalate"


def remediate(services: Services, incident: Incident) -> Incident:
    """The remediator runs exactly the approved action, guarded by the hook and the executor.

    A re-run after a crash never goes back to the model: the executor observes the side effect
    the first run recorded and finishes it, without sending it again.
    """
    plan = _plan(incident)
    assert plan.action is not None and incident.governance is not None
    digest = incident.governance.plan_hash
    assert digest is not None
    team = team_for(services, incident)
    cancelled: list[str] = []
    if services.store.get_execution(incident.id, digest) is None:
        report, hook = team.remediator(plan.action)
        cancelled = hook.cancelled
        _record_effort(services, incident.id, team.effort)
    else:
        try:
            report = team.ctx.executor.execute(incident.id, plan.action).detail
        except (ActionRejected, ApprovalRequired, ToolInputError) as exc:
            report = str(exc)
    record = services.store.get_execution(incident.id, digest)
    if record is None or record.status != "succeeded":
        why = "; ".join(cancelled) or (record.result if record else report)
        services.store.append(
            incident.id, "action_failed", "agent:remediator", {"reason": str(why)[:2000]}
        )
        services.store.append(
            incident.id, "escalated", "system:remediate", {"reason": "the action did not succeed"}
        )
        incident.outcome = Outcome.ESCALATED
        incident.step = Step.CLOSE
        return incident
    incident.execution = record.model_dump(mode="json")
    services.store.append(
        incident.id,
        "action_succeeded",
        "agent:remediator",
        {"result": record.result, "report": report[:2000]},
    )
    incident.step = Step.VERIFY
    return incident


def verify(services: Services, incident: Incident) -> Incident:
    """The alarms must return to OK within the action's verification window (polled here)."""
    deadline = time.monotonic() + _verify_window(services, incident)
    while True:
        states = alarm_states(services.aws.cloudwatch, incident.alarms)
        if all(state == "OK" for state in states.values()) or time.monotonic() >= deadline:
            return _verified(services, incident, states)
        time.sleep(services.verify_poll_seconds)


def verify_once(services: Services, incident: Incident) -> Incident:
    """One look at the alarms (Step Functions waits between looks): the incident moves on once
    they are OK or the window since the action finished is over; else it stays at verify."""
    states = alarm_states(services.aws.cloudwatch, incident.alarms)
    finished = (incident.execution or {}).get("finished_at")
    since = datetime.fromisoformat(finished) if finished else services.clock()
    deadline = since + timedelta(seconds=_verify_window(services, incident))
    if all(state == "OK" for state in states.values()) or services.clock() >= deadline:
        return _verified(services, incident, states)
    return incident


def _verify_window(services: Services, incident: Incident) -> float:
    plan = _plan(incident)
    assert plan.action is not None
    window = float(services.catalog[plan.action.action].verify_within_seconds)
    if services.verify_timeout_cap_seconds is not None:
        window = min(window, services.verify_timeout_cap_seconds)
    return window


def _verified(services: Services, incident: Incident, states: dict[str, str]) -> Incident:
    plan = _plan(incident)
    assert plan.action is not None
    recovered = all(state == "OK" for state in states.values())
    services.store.append(
        incident.id, "verified", "system:verify", {"alarms": states, "recovered": recovered}
    )
    if recovered:
        incident.outcome = Outcome.RESOLVED
    else:
        window = _verify_window(services, incident)
        services.store.append(
            incident.id,
            "escalated",
            "system:verify",
            {
                "reason": f"alarms not OK within {window:.0f} s after the action",
                "rollback": services.catalog[plan.action.action].rollback,
            },
        )
        incident.outcome = Outcome.ESCALATED
    incident.step = Step.CLOSE
    return incident


def fail(services: Services, incident: Incident, error: dict[str, Any]) -> Incident:
    """A step failed for good (its retries spent): record why and escalate, so the incident
    closes instead of being lost. While remediating, what the execution ledger knows decides
    what is said about the action: nothing ran, it failed, or its outcome is unknown.

    `error` is Step Functions' (`Error`, `Cause`); the cause may carry text from a model or a
    log, so it is kept as quoted data, never in the healer's own words.
    """
    if incident.step is Step.DONE:
        return incident  # already closed: a late failure report changes nothing
    failed = {
        "error": str(error.get("Error", "error"))[:200],
        "cause": str(error.get("Cause", ""))[:1500],
    }
    reason = f"the {incident.step} step failed ({failed['error']})"
    digest = incident.governance.plan_hash if incident.governance else None
    record = services.store.get_execution(incident.id, digest) if digest else None
    if incident.step is Step.REMEDIATE and record is not None:
        if record.status == "failed":
            services.store.append(
                incident.id, "action_failed", "system:workflow", {"reason": reason, **failed}
            )
        else:
            outcome = "its outcome is unknown" if record.status == "started" else "it succeeded"
            reason += f": the action on {record.target} was started and {outcome}, unverified"
    services.store.append(incident.id, "escalated", "system:workflow", {"reason": reason, **failed})
    incident.outcome = Outcome.ESCALATED
    incident.step = Step.CLOSE
    return incident


def close(services: Services, incident: Incident) -> Incident:
    """Close the incident, adding what its action did to the action's trust record."""
    digest = incident.governance.plan_hash if incident.governance else None
    record = services.store.get_execution(incident.id, digest) if digest else None
    result = result_at_close(incident, record.status if record else None)
    if result is not None:
        record_outcome(services.store, incident, result, services.autonomy.bar, "system:close")
    incident.closed_at = services.clock()
    services.store.append(
        incident.id,
        "closed",
        "system:close",
        {"outcome": incident.outcome.value if incident.outcome else None},
    )
    incident.step = Step.DONE
    return incident


def _plan(incident: Incident) -> RemediationPlan:
    if incident.plan is None:
        raise ValueError(f"incident {incident.id} has no plan yet")
    return incident.plan
