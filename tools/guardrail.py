"""The guardrail applied to a plan: AWS facts and prices in, the policy's decision out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from strands import tool

from healer.catalog import Catalog
from healer.domain import (
    ActionProposal,
    CostEstimate,
    GovernanceDecision,
    PastAction,
    Risk,
    TargetFacts,
)
from healer.policy import PolicyInput, PolicySettings, decide
from tools.aws import AwsClients
from tools.costing import price_proposal
from tools.fence import fence
from tools.fleet import target_facts
from tools.pricing import PriceSource

Recommendation = Literal["act", "escalate", "no_action"]


def evaluate_plan(
    aws: AwsClients,
    catalog: Catalog,
    prices: PriceSource,
    proposal: ActionProposal | None,
    *,
    recommendation: Recommendation,
    confidence: float,
    history: list[PastAction],
    now: datetime,
    settings: PolicySettings,
    suggested_risk: Risk | None = None,
) -> tuple[GovernanceDecision, CostEstimate | None]:
    """Decide a plan from facts read now, with a cost computed in code (not claimed by a model)."""
    cost: CostEstimate | None = None
    facts = TargetFacts(exists=False)
    if proposal is not None:
        facts, instance_type = target_facts(aws.ec2, aws.autoscaling, proposal.target)
        if facts.exists:
            cost = price_proposal(aws, catalog, prices, proposal, (facts, instance_type))
    decision = decide(
        PolicyInput(
            recommendation=recommendation,
            proposal=proposal,
            spec=catalog.get(proposal.action) if proposal else None,
            target=facts,
            cost=cost,
            confidence=confidence,
            suggested_risk=suggested_risk,
            history=tuple(history),
            now=now,
        ),
        settings,
    )
    return decision, cost


def guardrail_tools(
    aws: AwsClients,
    catalog: Catalog,
    prices: PriceSource,
    history: list[PastAction],
    clock: Any,
    settings: PolicySettings,
) -> list[Any]:
    """The supervisor's preview of the guardrail. The workflow decides again, in code."""

    @tool
    def check_guardrail(
        action: str, target: str, params: dict[str, Any] | None = None, confidence: float = 0.0
    ) -> str:
        """Use after pricing: preview whether the guardrail would auto-heal, ask a human, or
        refuse this action, and why.

        Args:
            action: catalog action id.
            target: instance id or Auto Scaling group name.
            params: the action's parameters.
            confidence: your confidence in the diagnosis, 0..1.
        """
        proposal = ActionProposal(action=action, target=target, params=params or {})  # type: ignore[arg-type]
        decision, cost = evaluate_plan(
            aws,
            catalog,
            prices,
            proposal,
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
