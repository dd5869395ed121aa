"""The model factory (`agents.models.build_model`) and the Converse requests Bedrock receives.

Bedrock is stubbed with botocore's Stubber (non-streaming `converse`); the request is built by
the real BedrockModel inside the real agent loop, with the diagnostician's real tools.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from strands import Agent
from strands.models.bedrock import BedrockModel

from agents.models import build_model
from agents.offline.engine import OfflineEngine
from agents.prompts import DIAGNOSTICIAN
from healer.catalog import RUNBOOKS_DIR, default_catalog
from healer.errors import ConfigError
from healer.store import SqliteStore
from knowledge_base.retriever import RunbookHit
from knowledge_base.runbooks import load_runbooks
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.diagnostics import diagnostic_tools
from tools.fence import unfence
from tools.pricing import TablePriceSource
from tools.remediation import Executor, SsmAutomationRunner

MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PROMPT = "Alarm web-1-disk-used is in ALARM for i-0a1b2c3d4e5f60001."
DIAGNOSTICIAN_TOOLS = {  # at least these; the request must carry every tool the agent has
    "get_alarm_details",
    "describe_resource",
    "get_resource_metrics",
    "search_logs",
    "get_recent_changes",
    "search_runbooks",
}
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class DiskRunbookRetriever:
    """Finds the disk-full runbook for any query, and remembers what it was asked."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, int]] = []

    def search(
        self, query: str, k: int = 5, filters: dict[str, str] | None = None
    ) -> list[RunbookHit]:
        self.queries.append((query, k))
        return [
            RunbookHit(
                runbook_id="disk-full-runaway-logs",
                section="Summary",
                score=0.9,
                text="Root volume filling up because application logs are not rotated",
                source="runbooks/disk-full-runaway-logs.md",
            )
        ]


def dummy_session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


def converse_response(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 100, "outputTokens": 20, "totalTokens": 120},
        "metrics": {"latencyMs": 250},
    }


@pytest.fixture
def bedrock() -> BedrockModel:
    model = build_model(f"bedrock:{MODEL_ID}", boto_session=dummy_session())
    assert isinstance(model, BedrockModel)
    model.update_config(streaming=False)
    return model


@pytest.fixture
def retriever() -> DiskRunbookRetriever:
    return DiskRunbookRetriever()


@pytest.fixture
def diagnostician_tools(retriever: DiskRunbookRetriever) -> Iterator[list[Any]]:
    session = dummy_session()
    aws = AwsClients.from_factory(session, "us-east-1")  # clients are built, never called
    with SqliteStore(":memory:") as store:
        ctx = ToolContext(
            incident_id="inc-bedrock",
            aws=aws,
            catalog=default_catalog(),
            retriever=retriever,
            runbooks={runbook.id: runbook for runbook in load_runbooks(RUNBOOKS_DIR)},
            prices=TablePriceSource({"m5.large": 0.096}),
            executor=Executor(
                aws, default_catalog(), store, SsmAutomationRunner(aws.ssm), lambda: NOW
            ),
            clock=lambda: NOW,
        )
        yield diagnostic_tools(ctx)


def test_the_factory_builds_a_deterministic_bedrock_model() -> None:
    model = build_model(f"bedrock:{MODEL_ID}", boto_session=dummy_session())

    assert isinstance(model, BedrockModel)
    config = model.get_config()
    assert config["model_id"] == MODEL_ID
    assert config["temperature"] == 0.0
    assert config["max_tokens"] == 4096
    assert config["streaming"] is True
    assert model.client.meta.region_name == "us-east-1"


def test_bedrock_without_a_model_id_uses_the_default_model() -> None:
    model = build_model("bedrock", boto_session=dummy_session())

    assert model.get_config()["model_id"].startswith("us.anthropic.claude")


def test_offline_is_the_deterministic_engine() -> None:
    assert isinstance(build_model("offline"), OfflineEngine)


@pytest.mark.parametrize("name", ["nope", "vertex:gemini-pro", ""])
def test_an_unknown_model_is_a_configuration_error_naming_it(name: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown model '{name}'"):
        build_model(name)


def test_the_diagnostician_request_reaches_bedrock_and_its_tool_call_comes_back(
    bedrock: BedrockModel,
    diagnostician_tools: list[Any],
    retriever: DiskRunbookRetriever,
) -> None:
    agent = Agent(
        model=bedrock,
        system_prompt=DIAGNOSTICIAN,
        tools=diagnostician_tools,
        callback_handler=None,
    )
    tool_config = {
        "tools": [
            {
                "toolSpec": {
                    "name": spec["name"],
                    "description": spec["description"],
                    "inputSchema": spec["inputSchema"],
                }
            }
            for spec in agent.tool_registry.get_all_tool_specs()
        ],
        "toolChoice": {"auto": {}},
    }
    assert {t["toolSpec"]["name"] for t in tool_config["tools"]} >= DIAGNOSTICIAN_TOOLS
    first_request = {
        "modelId": MODEL_ID,
        "system": [{"text": DIAGNOSTICIAN}],
        "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
        "toolConfig": tool_config,
        "inferenceConfig": {"maxTokens": 4096, "temperature": 0.0},
    }
    tool_use = {
        "toolUseId": "tooluse-1",
        "name": "search_runbooks",
        "input": {"query": "No space left on device", "k": 1},
    }
    second_request = {
        **first_request,
        "messages": [
            {"role": "user", "content": [{"text": PROMPT}]},
            {"role": "assistant", "content": [{"toolUse": tool_use}]},
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "tooluse-1",
                            "content": [{"text": ANY}],
                            "status": "success",
                        }
                    }
                ],
            },
        ],
    }
    sent: list[dict[str, Any]] = []
    bedrock.client.meta.events.register(
        "provide-client-params.bedrock-runtime.Converse",
        lambda params, **_: sent.append(params),
    )

    with Stubber(bedrock.client) as stub:
        stub.add_response(
            "converse", converse_response([{"toolUse": tool_use}], "tool_use"), first_request
        )
        stub.add_response(
            "converse",
            converse_response([{"text": "Root volume full: logs not rotated."}], "end_turn"),
            second_request,
        )
        result = agent(PROMPT)
        stub.assert_no_pending_responses()

    assert result.stop_reason == "end_turn"
    assert str(result).strip() == "Root volume full: logs not rotated."
    assert retriever.queries == [("No space left on device", 1)]
    tool_result = sent[1]["messages"][2]["content"][0]["toolResult"]["content"][0]["text"]
    [runbook] = unfence(tool_result)
    assert runbook["runbook_id"] == "disk-full-runaway-logs"
    assert runbook["actions"][0]["action"] == "clear_disk_space"
    assert result.metrics.accumulated_usage["inputTokens"] == 200
    [search_runbooks] = [
        tool["toolSpec"]
        for tool in sent[0]["toolConfig"]["tools"]
        if tool["toolSpec"]["name"] == "search_runbooks"
    ]
    assert search_runbooks["description"].startswith("Use before proposing any action")
    assert search_runbooks["inputSchema"]["json"]["required"] == ["query"]
    assert search_runbooks["inputSchema"]["json"]["properties"]["k"]["type"] == "integer"
