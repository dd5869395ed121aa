"""The cost analyst's tools, and the pricing of a proposal from AWS facts."""

from __future__ import annotations

from typing import Any

from strands import tool

from healer.catalog import Catalog
from healer.domain import ActionProposal, CostEstimate, TargetFacts
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.fence import fence
from tools.fleet import target_facts
from tools.pricing import PriceSource, estimate_cost


def price_proposal(
    aws: AwsClients,
    catalog: Catalog,
    prices: PriceSource,
    proposal: ActionProposal,
    target: tuple[TargetFacts, str | None] | None = None,
) -> CostEstimate:
    """The cost of a proposal, from the catalog's formula, the target's facts and prices.

    `target` is the (facts, instance type) pair when the caller has already read it.
    """
    spec = catalog.get(proposal.action)
    if spec is None:
        return CostEstimate(usd=None, breakdown=f"{proposal.action} is not a catalog action")
    facts, instance_type = target or target_facts(aws.ec2, aws.autoscaling, proposal.target)
    if not facts.exists:
        return CostEstimate(usd=None, breakdown=f"target {proposal.target} does not exist")
    return estimate_cost(
        spec,
        proposal,
        facts,
        instance_type,
        prices,
        new_instance_type=proposal.params.get("instance_type"),
    )


def cost_tools(ctx: ToolContext) -> list[Any]:
    """The tools the cost analyst may call."""

    @tool
    def estimate_cost(action: str, target: str, params: dict[str, Any] | None = None) -> str:
        """Use to price a catalog action: added hourly cost × horizon, with its arithmetic.

        Args:
            action: catalog action id, e.g. scale_out.
            target: instance id or Auto Scaling group name.
            params: the action's parameters, e.g. {"count": 3}.
        """
        proposal = ActionProposal(action=action, target=target, params=params or {})  # type: ignore[arg-type]
        estimate = price_proposal(ctx.aws, ctx.catalog, ctx.prices, proposal)
        return fence("estimate_cost", estimate.model_dump(mode="json"))

    @tool
    def get_price(instance_type: str) -> str:
        """Use to look up the on-demand hourly price of an EC2 instance type (USD, Linux).

        Args:
            instance_type: e.g. m5.xlarge.
        """
        price = ctx.prices.hourly_price(instance_type)
        return fence("get_price", {"instance_type": instance_type, "usd_per_hour": price})

    return [estimate_cost, get_price]
