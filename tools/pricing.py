"""EC2 prices and the cost of a catalog action (DESIGN.md, Cost).

`estimate = added hourly cost × horizon`: capacity added by `scale_out` or `raise_capacity_limit`
is priced for 24 h, a permanent change (`resize_instance`) for 730 h, everything else costs 0.
Prices come from a `PriceSource`: the AWS Price List API, or offline a frozen price table.
"""

from __future__ import annotations

import json
import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from healer.domain import ActionProposal, ActionSpec, CostEstimate, CostFormula, TargetFacts
from healer.errors import ConfigError, ToolInputError, ToolUnavailable

logger = logging.getLogger(__name__)

CAPACITY_HOURS = 24
"""Horizon over which added capacity is priced."""
PERMANENT_HOURS = 730
"""Horizon (one month) over which a permanent change is priced."""

REGION_LOCATIONS: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "ca-central-1": "Canada (Central)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-north-1": "EU (Stockholm)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "sa-east-1": "South America (Sao Paulo)",
}
"""Region code → the `location` attribute the Price List API uses."""

_CENT = Decimal("0.01")


class PriceSource(Protocol):
    """Where on-demand prices come from (Linux, shared tenancy, the source's region)."""

    def hourly_price(self, instance_type: str) -> float | None:
        """Return the on-demand price in USD per hour, or None when it is unknown."""
        ...


class TablePriceSource:
    """Prices from a fixed table, e.g. a replay case's frozen prices (offline)."""

    def __init__(self, prices: dict[str, float]) -> None:
        self._prices = dict(prices)

    def hourly_price(self, instance_type: str) -> float | None:
        """Return the table's price for `instance_type`, or None when it is not listed."""
        return self._prices.get(instance_type)


class PricingApiPriceSource:
    """Prices from the AWS Price List API, cached in memory per instance type.

    Args:
        client: A boto3 `pricing` client (the API is served from us-east-1).
        region: The region whose prices are wanted.

    Raises:
        ConfigError: The region has no known Price List location name.
    """

    def __init__(self, client: Any, region: str = "us-east-1") -> None:
        if region not in REGION_LOCATIONS:
            raise ConfigError(f"pricing: no Price List location known for region {region!r}")
        self._client = client
        self._region = region
        self._location = REGION_LOCATIONS[region]
        self._cache: dict[str, float | None] = {}

    def hourly_price(self, instance_type: str) -> float | None:
        """Return the on-demand Linux price of `instance_type`, or None when no product matches.

        Raises:
            ToolUnavailable: The Price List API failed or could not be reached.
        """
        if instance_type in self._cache:
            return self._cache[instance_type]
        try:
            response = self._client.get_products(
                ServiceCode="AmazonEC2", Filters=self._filters(instance_type)
            )
        except (ClientError, BotoConnectionError, HTTPClientError) as exc:
            raise ToolUnavailable(
                f"pricing: cannot read the price of {instance_type} in {self._region}: {exc}"
            ) from exc
        price = _on_demand_usd(response.get("PriceList", []))
        if price is None:
            logger.warning(
                "instance_type=%s | region=%s | no on-demand price in the Price List",
                instance_type,
                self._region,
            )
        self._cache[instance_type] = price
        return price

    def _filters(self, instance_type: str) -> list[dict[str, str]]:
        wanted = {
            "instanceType": instance_type,
            "location": self._location,
            "operatingSystem": "Linux",
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
        }
        return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in wanted.items()]


def _on_demand_usd(price_list: list[str]) -> float | None:
    """The first positive on-demand USD price in a Price List (a list of JSON strings)."""
    for raw in price_list:
        try:
            product = json.loads(raw)
            on_demand = product["terms"]["OnDemand"]
        except (json.JSONDecodeError, TypeError, KeyError):
            continue
        for term in on_demand.values():
            for dimension in term.get("priceDimensions", {}).values():
                try:
                    usd = float(dimension["pricePerUnit"]["USD"])
                except (KeyError, TypeError, ValueError):
                    continue
                if usd > 0:  # a $0 "price" would make capacity look free: treat as unknown
                    return usd
    return None


# --------------------------------------------------------------------------- cost of an action


def estimate_cost(
    spec: ActionSpec,
    proposal: ActionProposal,
    target: TargetFacts,
    instance_type: str | None,
    prices: PriceSource,
    new_instance_type: str | None = None,
) -> CostEstimate:
    """Price one catalog action with the formula its catalog entry names.

    Args:
        spec: The catalog entry of the action.
        proposal: The action, its target and its parameters.
        target: Facts about the target; `asg_desired` is needed by `raise_capacity_limit`.
        instance_type: The current instance type of the target (of the ASG's instances).
        prices: Where hourly prices come from.
        new_instance_type: For `resize_instance`, the new type; defaults to the
            `instance_type` parameter of the proposal.

    Returns:
        The estimate in USD rounded to cents with its arithmetic; `usd` is None when a
        price, the instance type or the current capacity is unknown. A resize to a cheaper
        type gives a negative estimate (a saving).

    Raises:
        ToolInputError: The proposal is for another action or has invalid parameters.
    """
    if proposal.action != spec.id:
        raise ToolInputError(f"action: the proposal is for {proposal.action}, not {spec.id}")
    try:
        params = spec.validate_params(proposal.params)
    except ValueError as exc:
        raise ToolInputError(str(exc)) from exc

    if spec.cost is CostFormula.ZERO:
        return CostEstimate(
            usd=0.0,
            breakdown=f"{spec.id} costs nothing: no capacity is added",
            hourly_usd=0.0,
            hours=0,
        )
    if spec.cost is CostFormula.ADDED_CAPACITY_24H:
        return _added_capacity(spec, int(params["count"]), instance_type, prices, "")
    if spec.cost is CostFormula.RAISED_LIMIT_24H:
        return _raised_limit(spec, proposal, int(params["desired"]), target, instance_type, prices)
    new_type = new_instance_type or params.get("instance_type")
    return _resize(spec, instance_type, new_type, prices)


def _added_capacity(
    spec: ActionSpec, added: int, instance_type: str | None, prices: PriceSource, note: str
) -> CostEstimate:
    hours = CAPACITY_HOURS
    if instance_type is None:
        return _unknown(f"instance type of the target is unknown, so the cost of {spec.id}", hours)
    price = prices.hourly_price(instance_type)
    if price is None:
        return _unknown(
            f"price of {instance_type} is unknown, so the cost of {added} × {instance_type}"
            f" for {hours} h",
            hours,
        )
    usd = _cents(added * _dec(price) * hours)
    return CostEstimate(
        usd=float(usd),
        breakdown=f"{added} × {instance_type} × {_rate(price)} × {hours} h = {_money(usd)}{note}",
        hourly_usd=float(added * _dec(price)),
        hours=hours,
    )


def _raised_limit(
    spec: ActionSpec,
    proposal: ActionProposal,
    desired: int,
    target: TargetFacts,
    instance_type: str | None,
    prices: PriceSource,
) -> CostEstimate:
    current = target.asg_desired
    if current is None:
        return _unknown(
            f"current desired capacity of {proposal.target} is unknown, so the cost of {spec.id}",
            CAPACITY_HOURS,
        )
    added = desired - current
    if added <= 0:
        return CostEstimate(
            usd=0.0,
            breakdown=f"{spec.id} adds no capacity (desired {desired}, current {current}) = $0.00",
            hourly_usd=0.0,
            hours=CAPACITY_HOURS,
        )
    note = f" (desired {desired} − current {current})"
    return _added_capacity(spec, added, instance_type, prices, note)


def _resize(
    spec: ActionSpec, old_type: str | None, new_type: str | None, prices: PriceSource
) -> CostEstimate:
    hours = PERMANENT_HOURS
    if old_type is None or new_type is None:
        which = "current" if old_type is None else "new"
        return _unknown(f"{which} instance type is unknown, so the cost of {spec.id}", hours)
    old_price = prices.hourly_price(old_type)
    new_price = prices.hourly_price(new_type)
    if old_price is None or new_price is None:
        missing = old_type if old_price is None else new_type
        return _unknown(
            f"price of {missing} is unknown, so the cost of {old_type} → {new_type}", hours
        )
    delta = _dec(new_price) - _dec(old_price)
    usd = _cents(delta * hours)
    return CostEstimate(
        usd=float(usd),
        breakdown=(
            f"({new_type} {_rate(new_price)} − {old_type} {_rate(old_price)}) × {hours} h"
            f" = {_money(usd)}"
        ),
        hourly_usd=float(delta),
        hours=hours,
    )


def _unknown(what: str, hours: int) -> CostEstimate:
    return CostEstimate(usd=None, breakdown=f"{what} is unknown", hours=hours)


def _dec(value: float) -> Decimal:
    return Decimal(str(value))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _rate(price: float) -> str:
    """`$0.192/h`: at least two decimals, no trailing zeros beyond them."""
    text = f"{price:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"${whole}.{frac.ljust(2, '0')}/h"


def _money(usd: Decimal) -> str:
    sign = "-" if usd < 0 else ""
    return f"{sign}${abs(usd):,.2f}"
