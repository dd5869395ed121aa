"""Runbook search through an Amazon Bedrock Knowledge Base (`bedrock-agent-runtime.retrieve`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from healer.errors import ToolInputError, ToolUnavailable
from knowledge_base.retriever import RunbookHit
from knowledge_base.runbooks import Runbook

MAX_RESULTS = 100
"""The API's upper bound for `numberOfResults`."""

OVERFETCH = 3
"""Chunks requested per wanted runbook: several chunks of one runbook collapse into one hit."""

_FILTER_KEYS = ("category", "action")
_HEADING = re.compile(r"^#{1,6} +(.+)$", re.MULTILINE)


class BedrockKnowledgeBaseRetriever:
    """The `Retriever` over a Bedrock Knowledge Base; one hit per runbook (its best chunk).

    Args:
        client: A boto3 `bedrock-agent-runtime` client.
        knowledge_base_id: The knowledge base id (up to 10 letters and digits).
    """

    def __init__(self, client: Any, knowledge_base_id: str) -> None:
        self._client = client
        self._knowledge_base_id = knowledge_base_id

    def search(
        self, query: str, k: int = 5, filters: dict[str, str] | None = None
    ) -> list[RunbookHit]:
        """Rank runbooks for a query.

        Args:
            query: Symptoms in words (alarm, log lines, metrics).
            k: How many runbooks to return, at least 1.
            filters: Optional `category` and/or `action` (a catalog action id) to require.

        Returns:
            At most `k` hits, best first, one per runbook.

        Raises:
            ToolInputError: `k` or a filter key is invalid.
            ToolUnavailable: The Retrieve call failed.
        """
        if k < 1:
            raise ToolInputError(f"k: must be at least 1, got {k}")
        vector_search: dict[str, Any] = {"numberOfResults": min(MAX_RESULTS, k * OVERFETCH)}
        retrieval_filter = metadata_filter(filters or {})
        if retrieval_filter:
            vector_search["filter"] = retrieval_filter
        try:
            response = self._client.retrieve(
                knowledgeBaseId=self._knowledge_base_id,
                retrievalQuery={"text": query},
                retrievalConfiguration={"vectorSearchConfiguration": vector_search},
            )
        except (BotoCoreError, ClientError) as exc:
            raise ToolUnavailable(f"bedrock knowledge base retrieve failed: {exc}") from exc
        best: dict[str, RunbookHit] = {}
        for result in response.get("retrievalResults", []):
            hit = _to_hit(result)
            if hit.runbook_id not in best or hit.score > best[hit.runbook_id].score:
                best[hit.runbook_id] = hit
        return sorted(best.values(), key=lambda h: -h.score)[:k]


def metadata_filter(filters: dict[str, str]) -> dict[str, Any] | None:
    """The Retrieve `filter` for `category` (equals) and `action` (listContains on `actions`).

    Raises:
        ToolInputError: An unknown filter key.
    """
    unknown = sorted(set(filters) - set(_FILTER_KEYS))
    if unknown:
        raise ToolInputError(f"filters: unknown key(s) {unknown}; allowed: {list(_FILTER_KEYS)}")
    clauses: list[dict[str, Any]] = []
    if "category" in filters:
        clauses.append({"equals": {"key": "category", "value": filters["category"]}})
    if "action" in filters:
        clauses.append({"listContains": {"key": "actions", "value": filters["action"]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"andAll": clauses}


def runbook_metadata_files(runbooks: Iterable[Runbook]) -> dict[str, dict[str, Any]]:
    """The `<file>.metadata.json` sidecars a Bedrock Knowledge Base ingests next to each runbook.

    Args:
        runbooks: Parsed runbooks; the sidecar is named after the runbook's file
            (`<id>.md` when the runbook has no path).

    Returns:
        Sidecar file name → JSON document (`metadataAttributes`: runbook_id, category, title,
        and `actions`, the catalog action ids, left out when the runbook has none).
    """
    files: dict[str, dict[str, Any]] = {}
    for runbook in runbooks:
        name = Path(runbook.path).name if runbook.path else f"{runbook.id}.md"
        attributes: dict[str, Any] = {
            "runbook_id": runbook.id,
            "category": runbook.category.value,
            "title": runbook.title,
        }
        actions = sorted({a.action.value for a in runbook.actions if a.action is not None})
        if actions:
            attributes["actions"] = actions
        files[f"{name}.metadata.json"] = {"metadataAttributes": attributes}
    return files


def _to_hit(result: dict[str, Any]) -> RunbookHit:
    metadata = result.get("metadata") or {}
    text = result.get("content", {}).get("text", "")
    uri = (
        result.get("location", {}).get("s3Location", {}).get("uri")
        or metadata.get("x-amz-bedrock-kb-source-uri")
        or ""
    )
    runbook_id = metadata.get("runbook_id") or _stem(uri)
    section = metadata.get("section") or _first_heading(text)
    return RunbookHit(
        runbook_id=str(runbook_id),
        section=str(section),
        score=round(float(result.get("score", 0.0)), 4),
        text=text,
        source=uri,
    )


def _stem(uri: str) -> str:
    """`s3://bucket/runbooks/disk-full.md` → `disk-full`."""
    return PurePosixPath(urlparse(uri).path).stem


def _first_heading(text: str) -> str:
    match = _HEADING.search(text)
    return match.group(1).strip() if match else ""
