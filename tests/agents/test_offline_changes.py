"""Which recent changes the offline diagnostician may hold against the incident."""

from __future__ import annotations

from typing import Any

from agents.offline.conversation import ToolCall
from agents.offline.evidence import Evidence
from tools.fence import fence

SCALING = "autoscaling.amazonaws.com"


def _change(actor: str, action: str, **detail: Any) -> dict[str, Any]:
    return {
        "time": "2026-12-07T03:00:00Z",
        "actor": actor,
        "action": action,
        "resources": ["web-asg"],
        "detail": detail,
    }


def _changes_seen(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    call = ToolCall(
        "get_recent_changes", {"hours": 48}, "success", fence("get_recent_changes", changes)
    )
    return Evidence.from_calls({"opened_at": "2026-12-07T03:10:00Z"}, [call]).changes


def test_auto_scaling_answering_the_load_is_no_suspect_change() -> None:
    reaction = _change(SCALING, "SetDesiredCapacity", DesiredCapacity=6)
    assert _changes_seen([reaction]) == []


def test_a_launch_auto_scaling_could_not_make_is_kept_as_evidence_of_a_limit() -> None:
    failed = _change(SCALING, "RunInstances", errorCode="VcpuLimitExceeded")
    assert _changes_seen([failed]) == [failed]


def test_the_same_call_by_a_person_or_a_pipeline_stays_a_suspect() -> None:
    manual = _change("release-bot", "SetDesiredCapacity", DesiredCapacity=6)
    lowered = _change("alice", "UpdateAutoScalingGroup", MaxSize=4)
    assert _changes_seen([manual, lowered]) == [manual, lowered]
