"""The Bedrock Knowledge Base retriever against a stubbed `bedrock-agent-runtime` client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from healer.errors import ToolInputError, ToolUnavailable
from knowledge_base.bedrock import BedrockKnowledgeBaseRetriever, runbook_metadata_files
from knowledge_base.runbooks import load_runbooks

KB_ID = "KB12345678"
DISK_ID = "disk-full-temp-files"
RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "bedrock-agent-runtime",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _result(uri: str, text: str, score: float, **metadata: Any) -> dict[str, Any]:
    return {
        "content": {"text": text},
        "location": {"type": "S3", "s3Location": {"uri": uri}},
        "score": score,
        "metadata": {"x-amz-bedrock-kb-source-uri": uri, **metadata},
    }


def _request(query: str, number: int, flt: dict[str, Any] | None = None) -> dict[str, Any]:
    vector: dict[str, Any] = {"numberOfResults": number}
    if flt is not None:
        vector["filter"] = flt
    return {
        "knowledgeBaseId": KB_ID,
        "retrievalQuery": {"text": query},
        "retrievalConfiguration": {"vectorSearchConfiguration": vector},
    }


def test_search_maps_results_to_one_hit_per_runbook(client: Any, stubber: Stubber) -> None:
    disk = "s3://healer-runbooks/runbooks/disk-full-temp-files.md"
    logs = "s3://healer-runbooks/runbooks/disk-full-runaway-logs.md"
    stubber.add_response(
        "retrieve",
        {
            "retrievalResults": [
                _result(
                    disk,
                    "## Confirm\n/tmp holds the growth",
                    0.81,
                    runbook_id="disk-full-temp-files",
                ),
                _result(logs, "## Fix\nrotate and compress logs", 0.77),
                _result(
                    disk,
                    "## Fix\nclear_disk_space on /tmp",
                    0.62,
                    runbook_id="disk-full-temp-files",
                ),
            ]
        },
        _request("No space left on device in /tmp", 6),
    )

    hits = BedrockKnowledgeBaseRetriever(client, KB_ID).search(
        "No space left on device in /tmp", k=2
    )

    assert [(h.runbook_id, h.section, h.score) for h in hits] == [
        ("disk-full-temp-files", "Confirm", 0.81),
        ("disk-full-runaway-logs", "Fix", 0.77),  # id derived from the S3 key's file stem
    ]
    assert hits[0].source == disk
    assert hits[0].text.startswith("## Confirm")


def test_section_from_metadata_wins_over_the_heading(client: Any, stubber: Stubber) -> None:
    uri = "s3://b/runbooks/memory-leak-restart-service.md"
    stubber.add_response(
        "retrieve",
        {"retrievalResults": [_result(uri, "## Fix\nrestart", 0.5, section="Roll back")]},
        _request("oom", 3),
    )

    (hit,) = BedrockKnowledgeBaseRetriever(client, KB_ID).search("oom", k=1)

    assert (hit.runbook_id, hit.section) == ("memory-leak-restart-service", "Roll back")


def test_category_filter_is_an_equals_filter(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "retrieve",
        {"retrievalResults": []},
        _request("disk", 15, {"equals": {"key": "category", "value": "disk_full"}}),
    )

    hits = BedrockKnowledgeBaseRetriever(client, KB_ID).search(
        "disk", k=5, filters={"category": "disk_full"}
    )

    assert hits == []


def test_category_and_action_filters_are_and_combined(client: Any, stubber: Stubber) -> None:
    expected_filter = {
        "andAll": [
            {"equals": {"key": "category", "value": "disk_full"}},
            {"listContains": {"key": "actions", "value": "clear_disk_space"}},
        ]
    }
    stubber.add_response("retrieve", {"retrievalResults": []}, _request("disk", 3, expected_filter))

    BedrockKnowledgeBaseRetriever(client, KB_ID).search(
        "disk", k=1, filters={"category": "disk_full", "action": "clear_disk_space"}
    )


def test_action_filter_alone_is_list_contains(client: Any, stubber: Stubber) -> None:
    expected_filter = {"listContains": {"key": "actions", "value": "scale_out"}}
    stubber.add_response("retrieve", {"retrievalResults": []}, _request("cpu", 3, expected_filter))

    BedrockKnowledgeBaseRetriever(client, KB_ID).search("cpu", k=1, filters={"action": "scale_out"})


def test_number_of_results_is_capped_at_the_api_limit(client: Any, stubber: Stubber) -> None:
    stubber.add_response("retrieve", {"retrievalResults": []}, _request("cpu", 100))

    BedrockKnowledgeBaseRetriever(client, KB_ID).search("cpu", k=50)


def test_service_errors_become_tool_unavailable(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "retrieve", service_error_code="ThrottlingException", http_status_code=429
    )

    with pytest.raises(ToolUnavailable, match="ThrottlingException"):
        BedrockKnowledgeBaseRetriever(client, KB_ID).search("cpu")


def test_bad_input_is_a_tool_input_error(client: Any) -> None:
    retriever = BedrockKnowledgeBaseRetriever(client, KB_ID)

    with pytest.raises(ToolInputError, match="filters"):
        retriever.search("cpu", filters={"severity": "high"})
    with pytest.raises(ToolInputError, match="k"):
        retriever.search("cpu", k=0)


def test_metadata_sidecars_carry_id_category_actions_and_title() -> None:
    runbooks = load_runbooks(RUNBOOKS)

    files = runbook_metadata_files(runbooks)

    assert len(files) == len(runbooks)
    sidecar = files["disk-full-temp-files.md.metadata.json"]
    assert sidecar == {
        "metadataAttributes": {
            "runbook_id": "disk-full-temp-files",
            "category": "disk_full",
            "title": next(r.title for r in runbooks if r.id == "disk-full-temp-files"),
            "actions": ["clear_disk_space"],  # the `none` (escalate) entry is not an action
        }
    }
    escalate_only = files["certificate-expired-escalate.md.metadata.json"]["metadataAttributes"]
    assert "actions" not in escalate_only  # no empty list attribute for escalate-only runbooks
