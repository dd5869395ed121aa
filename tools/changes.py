"""Recent changes in the account, read from CloudTrail events delivered to CloudWatch Logs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.errors import ToolUnavailable

DEFAULT_TRAIL_GROUP = "/healer/cloudtrail"
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Lookup")


def recent_changes(
    logs: Any, now: datetime, hours: int = 48, group: str = DEFAULT_TRAIL_GROUP, limit: int = 30
) -> list[dict[str, Any]]:
    """Write events (deploys, config edits) from the trail, newest last."""
    start = int((now - timedelta(hours=hours)).timestamp() * 1000)
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, startTime=start
        )
        events = [event for page in pages for event in page["events"]]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise ToolUnavailable(f"reading the trail {group} failed: {exc}") from exc
    except BotoCoreError as exc:
        raise ToolUnavailable(f"reading the trail {group} failed: {exc}") from exc
    changes = []
    for event in sorted(events, key=lambda e: e["timestamp"]):
        record = _record(event["message"])
        if record is None or record.get("eventName", "").startswith(READ_ONLY_PREFIXES):
            continue
        identity = record.get("userIdentity") or {}
        changes.append(
            {
                "time": record.get("eventTime"),
                "actor": _actor(identity),
                "action": record.get("eventName"),
                "resources": [r.get("resourceName") for r in record.get("resources") or []],
                "detail": record.get("requestParameters") or {},
            }
        )
    return changes[-limit:]


def _actor(identity: dict[str, Any]) -> str:
    """Who made the change: the IAM user, the AWS service acting on its own (Auto Scaling,
    FIS, RDS), or the role session's ARN."""
    return str(
        identity.get("userName") or identity.get("invokedBy") or identity.get("arn") or "unknown"
    )


def _record(message: str) -> dict[str, Any] | None:
    try:
        record = json.loads(message)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None
