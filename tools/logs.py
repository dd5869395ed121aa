"""CloudWatch Logs adapters: find the log groups of a resource and search them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.errors import ToolUnavailable
from tools.fence import clip

MAX_EVENTS = 40
MAX_KEPT = 2000  # distinct lines a search holds while it reads
MAX_PATTERN_CHARS = 1024  # FilterLogEvents' filterPattern limit
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

    A term matches a line that holds its text, case as given. Each group is asked once (once
    per chunk of terms when they overflow one pattern) with CloudWatch's OR pattern
    `?"a" ?"b"`, read page by page, and every event is matched here as well: moto ignores that
    pattern and returns every line, so both worlds keep the same lines. `streams_containing`
    keeps streams whose name holds one of the given resource ids. Repeats of a line on one
    stream collapse into one event with a `count`, so a flood of one error cannot push every
    other line out of the bounded result; at most `MAX_KEPT` distinct lines are held while
    reading (the oldest go first), whatever the size of the group.
    """
    start = int((now - timedelta(minutes=minutes)).timestamp() * 1000)
    end = int((now + timedelta(minutes=1)).timestamp() * 1000)
    patterns = filter_patterns(terms)
    seen: set[str] = set()
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for group in groups if groups is not None else log_groups(logs):
        for pattern in patterns:
            for event in _events(logs, group, pattern, start, end):
                stream = event.get("logStreamName", "")
                if streams_containing and not any(r in stream for r in streams_containing):
                    continue
                if terms and not any(term in event["message"] for term in terms):
                    continue
                if len(patterns) > 1:  # an event can match a term of each chunk
                    if event["eventId"] in seen:
                        continue
                    seen.add(event["eventId"])
                _count(grouped, group, stream, event)
                if len(grouped) > MAX_KEPT:
                    grouped = _newest(grouped, MAX_KEPT // 2)
    return sorted(grouped.values(), key=lambda e: e["time"], reverse=True)[:limit]


def _count(
    grouped: dict[tuple[str, str, str], dict[str, Any]], group: str, stream: str, event: Any
) -> None:
    message = clip(event["message"])
    time_text = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).isoformat()
    entry = grouped.setdefault(
        (group, stream, message),
        {"time": time_text, "group": group, "stream": stream, "message": message, "count": 0},
    )
    entry["count"] += 1
    entry["time"] = max(entry["time"], time_text)


def _newest(
    grouped: dict[tuple[str, str, str], dict[str, Any]], keep: int
) -> dict[tuple[str, str, str], dict[str, Any]]:
    kept = sorted(grouped.items(), key=lambda item: item[1]["time"], reverse=True)[:keep]
    return dict(kept)


def filter_patterns(terms: list[str]) -> list[str]:
    """OR filter patterns (`?"a" ?"b"`) covering `terms`, each within FilterLogEvents' limit;
    [""] (every event) when there are no terms."""
    if not terms:
        return [""]
    patterns = [""]
    for term in terms:
        part = f"?{json.dumps(term)}"
        if patterns[-1] and len(patterns[-1]) + 1 + len(part) > MAX_PATTERN_CHARS:
            patterns.append("")
        patterns[-1] = f"{patterns[-1]} {part}".strip()
    return patterns


def _events(logs: Any, group: str, pattern: str, start: int, end: int) -> Iterator[dict[str, Any]]:
    """The group's events in the window that `pattern` admits, one page at a time."""
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern=pattern, startTime=start, endTime=end
        )
        for page in pages:
            yield from page["events"]
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
