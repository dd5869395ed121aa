"""Prices (table and Price List API) and the cost formulas of the catalog actions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from healer.catalog import default_catalog
from healer.domain import ActionId, ActionProposal, ActionSpec, TargetFacts, TargetKind
from healer.errors import ConfigError, ToolInputError, ToolUnavailable
from tools.pricing import PricingApiPriceSource, TablePriceSource, estimate_cost

PRICES = TablePriceSource({"m5.large": 0.096, "m5.xlarge": 0.192, "t3.micro": 0.0104})
ASG = TargetFacts(kind=TargetKind.ASG, asg_name="web", asg_min=2, asg_max=20, asg_desired=8)
INSTANCE = TargetFacts(kind=TargetKind.INSTANCE)


def spec(action: ActionId) -> ActionSpec:
    return default_catalog()[action]


def proposal(action: ActionId, target: str = "web", **params: Any) -> ActionProposal:
    return ActionProposal(action=action, target=target, params=params)


# --------------------------------------------------------------------------- table source


def test_table_source_returns_listed_prices_and_none_for_others() -> None:
    assert PRICES.hourly_price("m5.xlarge") == 0.192
    assert PRICES.hourly_price("x2iedn.32xlarge") is None


# --------------------------------------------------------------------------- cost formulas


def test_scale_out_prices_added_instances_for_24_hours() -> None:
    cost = estimate_cost(
        spec(ActionId.SCALE_OUT), proposal(ActionId.SCALE_OUT, count=10), ASG, "m5.xlarge", PRICES
    )
    assert cost.usd == 46.08
    assert cost.breakdown == "10 × m5.xlarge × $0.192/h × 24 h = $46.08"
    assert cost.hourly_usd == pytest.approx(1.92)
    assert cost.hours == 24


def test_raise_capacity_limit_prices_the_instances_above_current_desired() -> None:
    action = proposal(ActionId.RAISE_CAPACITY_LIMIT, max=30, desired=12)
    cost = estimate_cost(spec(ActionId.RAISE_CAPACITY_LIMIT), action, ASG, "m5.xlarge", PRICES)
    assert cost.usd == 18.43  # 4 × 0.192 × 24 = 18.432
    assert cost.breakdown.startswith("4 × m5.xlarge × $0.192/h × 24 h = $18.43")
    assert "desired 12 − current 8" in cost.breakdown


def test_raise_capacity_limit_without_added_instances_costs_nothing() -> None:
    action = proposal(ActionId.RAISE_CAPACITY_LIMIT, max=30, desired=8)
    cost = estimate_cost(spec(ActionId.RAISE_CAPACITY_LIMIT), action, ASG, "m5.xlarge", PRICES)
    assert cost.usd == 0.0


def test_raise_capacity_limit_with_unknown_current_capacity_is_unknown() -> None:
    action = proposal(ActionId.RAISE_CAPACITY_LIMIT, max=30, desired=12)
    cost = estimate_cost(
        spec(ActionId.RAISE_CAPACITY_LIMIT), action, TargetFacts(), "m5.xlarge", PRICES
    )
    assert cost.usd is None
    assert "current desired capacity of web is unknown" in cost.breakdown


def test_resize_prices_the_difference_for_a_month() -> None:
    action = proposal(ActionId.RESIZE_INSTANCE, "i-0abc", instance_type="m5.xlarge")
    cost = estimate_cost(spec(ActionId.RESIZE_INSTANCE), action, INSTANCE, "m5.large", PRICES)
    assert cost.usd == 70.08
    assert cost.breakdown == "(m5.xlarge $0.192/h − m5.large $0.096/h) × 730 h = $70.08"
    assert cost.hourly_usd == pytest.approx(0.096)
    assert cost.hours == 730


def test_resize_to_a_cheaper_type_reports_the_saving_as_negative() -> None:
    action = proposal(ActionId.RESIZE_INSTANCE, "i-0abc", instance_type="m5.large")
    cost = estimate_cost(spec(ActionId.RESIZE_INSTANCE), action, INSTANCE, "m5.xlarge", PRICES)
    assert cost.usd == -70.08
    assert cost.breakdown.endswith("= -$70.08")


def test_resize_new_type_argument_overrides_the_parameter() -> None:
    action = proposal(ActionId.RESIZE_INSTANCE, "i-0abc", instance_type="m5.xlarge")
    cost = estimate_cost(
        spec(ActionId.RESIZE_INSTANCE),
        action,
        INSTANCE,
        "t3.micro",
        PRICES,
        new_instance_type="m5.large",
    )
    assert cost.usd == 62.49  # (0.096 − 0.0104) × 730 = 62.488
    assert "$0.0104/h" in cost.breakdown


@pytest.mark.parametrize(
    ("action", "params"),
    [
        (ActionId.RESTART_SERVICE, {"service": "nginx"}),
        (ActionId.CLEAR_DISK_SPACE, {}),
        (ActionId.RESTART_INSTANCE, {}),
        (ActionId.REPLACE_INSTANCE, {}),
        (ActionId.ISOLATE_INSTANCE, {}),
        (ActionId.ROLLBACK_DEPLOYMENT, {}),
    ],
)
def test_actions_that_add_no_capacity_cost_nothing(action: ActionId, params: dict) -> None:
    cost = estimate_cost(spec(action), proposal(action, **params), INSTANCE, None, PRICES)
    assert cost.usd == 0.0
    assert cost.breakdown == f"{action} costs nothing: no capacity is added"


def test_restart_service_breakdown_says_it_costs_nothing() -> None:
    action = proposal(ActionId.RESTART_SERVICE, "i-0abc", service="nginx")
    cost = estimate_cost(spec(ActionId.RESTART_SERVICE), action, INSTANCE, "m5.large", PRICES)
    assert cost.breakdown == "restart_service costs nothing: no capacity is added"


def test_unknown_price_gives_an_unknown_cost() -> None:
    cost = estimate_cost(
        spec(ActionId.SCALE_OUT), proposal(ActionId.SCALE_OUT, count=2), ASG, "p5.48xlarge", PRICES
    )
    assert cost.usd is None
    assert not cost.known
    assert cost.breakdown.startswith("price of p5.48xlarge is unknown")


def test_unknown_instance_type_gives_an_unknown_cost() -> None:
    cost = estimate_cost(
        spec(ActionId.SCALE_OUT), proposal(ActionId.SCALE_OUT, count=2), ASG, None, PRICES
    )
    assert cost.usd is None
    assert "instance type" in cost.breakdown


def test_resize_with_unknown_new_price_gives_an_unknown_cost() -> None:
    action = proposal(ActionId.RESIZE_INSTANCE, "i-0abc", instance_type="z9.huge")
    cost = estimate_cost(spec(ActionId.RESIZE_INSTANCE), action, INSTANCE, "m5.large", PRICES)
    assert cost.usd is None
    assert cost.breakdown.startswith("price of z9.huge is unknown")


def test_invalid_parameters_are_a_tool_input_error_naming_the_field() -> None:
    with pytest.raises(ToolInputError, match="count"):
        estimate_cost(
            spec(ActionId.SCALE_OUT), proposal(ActionId.SCALE_OUT, count=0), ASG, "m5.large", PRICES
        )


def test_a_proposal_for_another_action_is_a_tool_input_error() -> None:
    with pytest.raises(ToolInputError, match="scale_out"):
        estimate_cost(
            spec(ActionId.RESTART_SERVICE),
            proposal(ActionId.SCALE_OUT, count=1),
            ASG,
            "m5.large",
            PRICES,
        )


# --------------------------------------------------------------------------- Price List API


def price_list_product(instance_type: str, usd: str) -> str:
    """One PriceList entry as the API returns it: a JSON document serialised as a string."""
    sku = "8VCNEHQMSCQS4P39"
    offer = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "attributes": {
                    "instanceType": instance_type,
                    "location": "US East (N. Virginia)",
                    "locationType": "AWS Region",
                    "operatingSystem": "Linux",
                    "tenancy": "Shared",
                    "preInstalledSw": "NA",
                    "capacitystatus": "Used",
                    "licenseModel": "No License required",
                    "vcpu": "4",
                    "memory": "16 GiB",
                    "regionCode": "us-east-1",
                    "servicecode": "AmazonEC2",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonEC2",
            "terms": {
                "OnDemand": {
                    offer: {
                        "priceDimensions": {
                            f"{offer}.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "endRange": "Inf",
                                "description": f"$0.192 per On Demand Linux {instance_type}",
                                "appliesTo": [],
                                "rateCode": f"{offer}.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2025-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20251101000000",
            "publicationDate": "2025-11-01T00:00:00Z",
        }
    )


def expected_request(instance_type: str, location: str = "US East (N. Virginia)") -> dict:
    return {
        "ServiceCode": "AmazonEC2",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "instanceType", "Value": instance_type},
            {"Type": "TERM_MATCH", "Field": "location", "Value": location},
            {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
            {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
            {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
            {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
        ],
    }


@pytest.fixture
def pricing_client() -> Any:
    return boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


@pytest.fixture
def stubber(pricing_client: Any) -> Iterator[Stubber]:
    with Stubber(pricing_client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_api_source_sends_the_filters_and_parses_the_on_demand_price(
    pricing_client: Any, stubber: Stubber
) -> None:
    stubber.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": [price_list_product("m5.xlarge", "0.1920000000")]},
        expected_request("m5.xlarge"),
    )
    assert PricingApiPriceSource(pricing_client).hourly_price("m5.xlarge") == 0.192


def test_api_source_maps_the_region_to_its_location_name(
    pricing_client: Any, stubber: Stubber
) -> None:
    stubber.add_response(
        "get_products",
        {"PriceList": [price_list_product("m5.large", "0.1070000000")]},
        expected_request("m5.large", location="EU (Ireland)"),
    )
    source = PricingApiPriceSource(pricing_client, region="eu-west-1")
    assert source.hourly_price("m5.large") == 0.107


def test_api_source_caches_prices_per_instance_type(pricing_client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "get_products",
        {"PriceList": [price_list_product("m5.xlarge", "0.1920000000")]},
        expected_request("m5.xlarge"),
    )
    source = PricingApiPriceSource(pricing_client)
    assert source.hourly_price("m5.xlarge") == 0.192
    assert source.hourly_price("m5.xlarge") == 0.192  # no second response queued: cached


def test_api_source_without_a_product_returns_none(pricing_client: Any, stubber: Stubber) -> None:
    stubber.add_response("get_products", {"PriceList": []}, expected_request("z9.huge"))
    source = PricingApiPriceSource(pricing_client)
    assert source.hourly_price("z9.huge") is None
    assert source.hourly_price("z9.huge") is None  # the miss is cached too


def test_api_source_ignores_zero_prices(pricing_client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "get_products",
        {"PriceList": [price_list_product("m5.xlarge", "0.0000000000")]},
        expected_request("m5.xlarge"),
    )
    assert PricingApiPriceSource(pricing_client).hourly_price("m5.xlarge") is None


def test_api_service_error_is_tool_unavailable(pricing_client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "get_products",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
        expected_params=expected_request("m5.xlarge"),
    )
    with pytest.raises(ToolUnavailable, match=r"m5\.xlarge") as caught:
        PricingApiPriceSource(pricing_client).hourly_price("m5.xlarge")
    assert caught.value.__cause__ is not None


def test_api_errors_are_not_cached(pricing_client: Any, stubber: Stubber) -> None:
    stubber.add_client_error("get_products", service_error_code="InternalErrorException")
    stubber.add_response(
        "get_products",
        {"PriceList": [price_list_product("m5.xlarge", "0.1920000000")]},
        expected_request("m5.xlarge"),
    )
    source = PricingApiPriceSource(pricing_client)
    with pytest.raises(ToolUnavailable):
        source.hourly_price("m5.xlarge")
    assert source.hourly_price("m5.xlarge") == 0.192


def test_api_source_cost_estimate_end_to_end(pricing_client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "get_products",
        {"PriceList": [price_list_product("m5.xlarge", "0.1920000000")]},
        expected_request("m5.xlarge"),
    )
    source = PricingApiPriceSource(pricing_client)
    cost = estimate_cost(
        spec(ActionId.SCALE_OUT), proposal(ActionId.SCALE_OUT, count=10), ASG, "m5.xlarge", source
    )
    assert cost.breakdown == "10 × m5.xlarge × $0.192/h × 24 h = $46.08"


def test_an_unmapped_region_is_a_config_error(pricing_client: Any) -> None:
    with pytest.raises(ConfigError, match="mars-north-1"):
        PricingApiPriceSource(pricing_client, region="mars-north-1")
