"""CloudWatch Logs adapters: find the log groups of a resource and search them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.errors import ToolUnavailable
from tools.fence import clip

MAX_EVENTS = 40
RESERVED_GROUP_PREFIX = "/healer/"


def log_groups(logs: Any) -> list[str]:
    """Application log groups (the healer's own groups excluded)."""
    try:
        pages = logs.get_paginator("describe_log_groups").paginate()
        names = [g["logGroupName"] for page in pages for g in page["logGroups"]]
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"describe_log_groups failed: {exc}") from exc
    return [name for name in names if not name.startswith(RESERVED_GROUP_PREFIX)]


def search_logs(
    logs: Any,
    terms: list[str],
    now: datetime,
    minutes: int = 60,
    groups: list[str] | None = None,
    streams_containing: list[str] | None = None,
    limit: int = MAX_EVENTS,
) -> list[dict[str, Any]]:
    """Log events matching any of `terms` (all events when `terms` is empty), newest first.

    One filter per term keeps the query portable (the `?a ?b` OR syntax is not supported by
    every CloudWatch Logs implementation). `streams_containing` keeps streams whose name holds
    one of the given resource ids. Repeats of a line on one stream collapse into one event with
    a `count`, so a flood of one error cannot push every other line out of the bounded result.
    """
    start = int((now - timedelta(minutes=minutes)).timestamp() * 1000)
    end = int((now + timedelta(minutes=1)).timestamp() * 1000)
    seen: set[str] = set()
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for group in groups if groups is not None else log_groups(logs):
        for term in terms or [""]:
            for event in _filter(logs, group, _quote(term), start, end):
                stream = event.get("logStreamName", "")
                if event["eventId"] in seen:
                    continue
                if streams_containing and not any(r in stream for r in streams_containing):
                    continue
                seen.add(event["eventId"])
                message = clip(event["message"])
                time_text = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).isoformat()
                entry = grouped.setdefault(
                    (group, stream, message),
                    {
                        "time": time_text,
                        "group": group,
                        "stream": stream,
                        "message": message,
                        "count": 0,
                    },
                )
                entry["count"] += 1
                entry["time"] = max(entry["time"], time_text)
    ordered = sorted(grouped.values(), key=lambda e: e["time"], reverse=True)
    return ordered[:limit]


def _quote(term: str) -> str:
    return json.dumps(term) if term and " " in term else term


def _filter(logs: Any, group: str, pattern: str, start: int, end: int) -> list[dict[str, Any]]:
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern=pattern, startTime=start, endTime=end
        )
        return [event for page in pages for event in page["events"]]
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"filter_log_events on {group} failed: {exc}") from exc


def insights_query(
    logs: Any,
    query: str,
    now: datetime,
    minutes: int = 60,
    groups: list[str] | None = None,
    timeout_seconds: float = 20.0,
    limit: int = MAX_EVENTS,
) -> list[dict[str, str]]:
    """Run a CloudWatch Logs Insights query and return its rows (field → value), bounded."""
    start = int((now - timedelta(minutes=minutes)).timestamp())
    try:
        query_id = logs.start_query(
            logGroupNames=groups if groups is not None else log_groups(logs),
            startTime=start,
            endTime=int(now.timestamp()) + 60,
            queryString=query,
            limit=limit,
        )["queryId"]
        deadline = time.monotonic() + timeout_seconds
        while True:
            result = logs.get_query_results(queryId=query_id)
            if result["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
                break
            if time.monotonic() > deadline:
                logs.stop_query(queryId=query_id)
                raise ToolUnavailable(f"Logs Insights query did not finish in {timeout_seconds} s")
            time.sleep(0.5)
    except (ClientError, BotoCoreError) as exc:
        raise ToolUnavailable(f"Logs Insights query failed: {exc}") from exc
    if result["status"] != "Complete":
        raise ToolUnavailable(f"Logs Insights query ended {result['status']}")
    return [
        {f["field"]: clip(f["value"]) for f in row if f["field"] != "@ptr"}
        for row in result["results"][:limit]
    ]
