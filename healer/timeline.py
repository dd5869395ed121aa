"""One line per audit event, for timelines in the terminal and in Slack."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from healer.domain import AuditEvent


def event_detail(event: AuditEvent) -> str:
    """One line on what an audit event says, for timelines (≤ 120 characters)."""
    data = event.data
    picks = {
        "incident_opened": lambda: f"alarm {data.get('alarm')}",
        "alarm_correlated": lambda: f"alarm {data.get('alarm')} joined",
        "diagnosed": lambda: f"{data.get('category')} ({data.get('confidence')})",
        "cost_estimated": lambda: str(data.get("breakdown")),
        "governance_decided": lambda: f"{data.get('decision')}, risk {data.get('risk')}",
        "approval_requested": lambda: f"{data.get('approval_id')} expires {data.get('expires_at')}",
        "approved": lambda: f"{data.get('approval_id')}",
        "action_started": lambda: f"{data.get('action')} on {data.get('target')}",
        "action_succeeded": lambda: str((data.get("result") or {}).get("detail", "")),
        "verified": lambda: ", ".join(f"{k}={v}" for k, v in (data.get("alarms") or {}).items()),
        "closed": lambda: str(data.get("outcome")),
        "shadow_decided": lambda: f"would {data.get('would')}: {_action(data.get('action'))}",
        "human_fix_recorded": lambda: f"{data.get('action')}{_agreement(data.get('agreed'))}",
        "trust_outcome": lambda: (
            f"{data.get('action')} / {data.get('runbook')}: {data.get('result')}"
        ),
        "trust_changed": lambda: f"{data.get('action')} {data.get('change')}: {data.get('why')}",
        "cost_checked": lambda: (
            f"estimated ${data.get('estimate_usd')}, "
            f"actual ${data.get('actual_usd')} ({data.get('basis')})"
        ),
    }
    pick = picks.get(event.kind)
    text = pick() if pick else str(data.get("reason", data.get("reasons", "")))
    return text[:120]


def _action(action: object) -> str:
    if not isinstance(action, dict):
        return "nothing"
    return f"{action.get('action')} on {action.get('target')}"


def _agreement(agreed: object) -> str:
    if agreed is None:
        return ""
    return ", as recommended" if agreed else ", not as recommended"
