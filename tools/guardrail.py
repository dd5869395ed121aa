"""The guardrail applied to a plan: AWS facts and prices in, the policy's decision out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from strands import tool

from healer.catalog import Catalog
from healer.domain import (
    ActionProposal,
    ActionSpec,
    Category,
    CostEstimate,
    ExecutorKind,
    GovernanceDecision,
    PastAction,
    Risk,
    TargetFacts,
)
from healer.errors import ToolUnavailable
from healer.policy import PolicyInput, PolicySettings, decide
from healer.trust import AutonomyCheck
from knowledge_base.runbooks import Runbook
from tools.aws import AwsClients
from tools.costing import price_proposal
from tools.fence import fence
from tools.fleet import target_facts
from tools.pricing import PriceSource
from tools.scope import incident_scope

SYSTEM_LOG_LOOKBACK = timedelta(hours=24)
"""How far back the guardrail reads systemd's own reports of a unit on the target host."""

Recommendation = Literal["act", "escalate", "no_action"]


@dataclass(frozen=True)
class IncidentRef:
    """What the guardrail needs to know of the incident a plan is for (not the model's word:
    the scope is read from AWS and the runbook file from these)."""

    alarms: tuple[str, ...]
    category: Category | None = None
    runbook_id: str | None = None
    requested_by: str | None = None


def document_sha256(ssm: Any, spec: ActionSpec | None) -> str | None:
    """The SHA-256 of the SSM Command document an action runs, as SSM reports it (None for
    Automation and Auto Scaling actions, or a document SSM does not know)."""
    if spec is None or spec.executor != ExecutorKind.SSM_COMMAND or spec.document is None:
        return None
    try:
        return str(ssm.describe_document(Name=spec.document)["Document"]["Hash"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidDocument":
            return None
        raise ToolUnavailable(f"describe_document {spec.document} failed: {exc}") from exc
    except BotoCoreError as exc:
        raise ToolUnavailable(f"describe_document {spec.document} failed: {exc}") from exc


def evaluate_plan(
    aws: AwsClients,
    catalog: Catalog,
    prices: PriceSource,
    proposal: ActionProposal | None,
    *,
    incident: IncidentRef,
    runbooks: dict[str, Runbook],
    recommendation: Recommendation,
    confidence: float,
    history: list[PastAction],
    now: datetime,
    settings: PolicySettings,
    suggested_risk: Risk | None = None,
    autonomy: Callable[[TargetFacts], AutonomyCheck] | None = None,
    cost_doubt: str | None = None,
) -> tuple[GovernanceDecision, CostEstimate | None]:
    """Decide a plan from facts read now, with a cost computed in code (not claimed by a model)
    and the incident's scope read from AWS and the cited runbook; `autonomy` says, from the
    target's facts, in which mode the action may run and what its record has earned."""
    cost: CostEstimate | None = None
    facts = TargetFacts(exists=False)
    scope, digest, check = None, None, None
    spec = catalog.get(proposal.action) if proposal else None
    if proposal is not None:
        facts, instance_type = target_facts(aws.ec2, aws.autoscaling, proposal.target)
        if facts.exists and _valid(spec, proposal):
            cost = price_proposal(aws, catalog, prices, proposal, (facts, instance_type))
        scope = incident_scope(
            aws,
            list(incident.alarms),
            incident.category,
            incident.runbook_id,
            runbooks,
            proposal.target,
            now - SYSTEM_LOG_LOOKBACK,
        )
        digest = document_sha256(aws.ssm, spec)
        check = autonomy(facts) if autonomy is not None else None
    decision = decide(
        PolicyInput(
            recommendation=recommendation,
            proposal=proposal,
            spec=spec,
            target=facts,
            cost=cost,
            confidence=confidence,
            suggested_risk=suggested_risk,
            history=tuple(history),
            scope=scope,
            document_sha256=digest,
            requested_by=incident.requested_by,
            autonomy=check,
            cost_doubt=cost_doubt,
            now=now,
        ),
        settings,
    )
    return decision, cost


def guardrail_tools(
    aws: AwsClients,
    catalog: Catalog,
    prices: PriceSource,
    runbooks: dict[str, Runbook],
    alarms: list[str],
    history: list[PastAction],
    clock: Any,
    settings: PolicySettings,
) -> list[Any]:
    """The supervisor's preview of the guardrail. The workflow decides again, in code."""

    @tool
    def check_guardrail(
        action: str,
        target: str,
        params: dict[str, Any] | None = None,
        confidence: float = 0.0,
        category: str | None = None,
        runbook_id: str | None = None,
    ) -> str:
        """Use after pricing: preview whether the guardrail would auto-heal, ask a human, or
        refuse this action, and why.

        Args:
            action: catalog action id.
            target: instance id or Auto Scaling group name.
            params: the action's parameters.
            confidence: your confidence in the diagnosis, 0..1.
            category: the diagnosed root-cause category.
            runbook_id: id of the runbook the action comes from.
        """
        proposal = ActionProposal(action=action, target=target, params=params or {})  # type: ignore[arg-type]
        decision, cost = evaluate_plan(
            aws,
            catalog,
            prices,
            proposal,
            incident=IncidentRef(tuple(alarms), _category(category), runbook_id),
            runbooks=runbooks,
            recommendation="act",
            confidence=confidence,
            history=history,
            now=clock(),
            settings=settings,
        )
        return fence(
            "check_guardrail",
            {"governance": decision.model_dump(mode="json"), "cost": cost and cost.model_dump()},
        )

    return [check_guardrail]


def _category(name: str | None) -> Category | None:
    try:
        return Category(name) if name else None
    except ValueError:
        return None


def _valid(spec: ActionSpec | None, proposal: ActionProposal) -> bool:
    """Whether the proposal can be priced (the policy refuses it with the reason otherwise)."""
    if spec is None or spec.id != proposal.action:
        return False
    try:
        spec.validate_params(proposal.params)
    except ValueError:
        return False
    return True
