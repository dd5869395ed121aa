"""Each incident's timeline in a Slack thread: one message in the channel when the incident
opens, then a reply for each step of the audit trail (diagnosed, decided, acted, verified,
closed, escalated with the page it would send); autopilot actions are announced there too. An
approval that expires unanswered is marked so on its message.

What was posted is itself recorded in the audit trail (`announced`: the thread and the last
event shown), so any process (another Lambda container, a restarted runner) carries on the same
thread. A Slack failure is logged and never fails the incident's step; after a crash between
posting and recording, a step may be posted twice, never lost.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackClientError

from healer.domain import AuditEvent, Incident
from healer.slack.approval_message import approval_blocks, decided_message
from healer.slack.mrkdwn import escape, one_line
from healer.timeline import event_detail
from healer.workflow.services import Services

log = logging.getLogger(__name__)

ANNOUNCED = "announced"
SHOWN = {
    "incident_opened",
    "alarm_correlated",
    "diagnosed",
    "cost_estimated",
    "governance_decided",
    "approval_requested",
    "approved",
    "rejected",
    "expired",
    "approval_refused",
    "action_blocked",
    "action_started",
    "action_succeeded",
    "action_failed",
    "verified",
    "rolled_back",
    "escalated",
    "closed",
}
LINE_MAX = 2900


class IncidentThreads:
    """Posts each incident's new timeline events to its thread in `channel`."""

    def __init__(self, client: Any, channel: str) -> None:
        self._client = client
        self._channel = channel

    def __call__(self, services: Services, incident: Incident) -> None:
        try:
            self._sync(services, incident)
        except (SlackClientError, OSError) as exc:  # refused, or unreachable
            log.warning("incident %s: Slack thread not updated: %s", incident.id, exc)

    def _sync(self, services: Services, incident: Incident) -> None:
        events = services.store.events(incident.id)
        marks = [e for e in events if e.kind == ANNOUNCED]
        through = int(marks[-1].data["through"]) if marks else 0
        new = [e for e in events if e.seq > through and e.kind in SHOWN]
        if not new:
            return
        if marks:
            thread = str(marks[-1].data["ts"])
        else:
            root = self._client.chat_postMessage(channel=self._channel, text=headline(incident))
            thread = str(root["ts"])
            self._record(services, incident, thread, through)  # one thread, even if a reply fails
        for event in new:
            self._client.chat_postMessage(
                channel=self._channel, thread_ts=thread, text=thread_line(incident, event)
            )
            if event.kind == "expired":
                self._show_expiry(services, incident, events, str(event.data["approval_id"]))
        self._record(services, incident, thread, events[-1].seq)

    def _record(self, services: Services, incident: Incident, thread: str, through: int) -> None:
        """Audit what the thread has been told: its message, and up to which event."""
        data = {"channel": self._channel, "ts": thread, "through": through}
        services.store.append(incident.id, ANNOUNCED, "system:slack", data)

    def _show_expiry(
        self, services: Services, incident: Incident, events: list[AuditEvent], approval_id: str
    ) -> None:
        """Mark the approval message as expired, its buttons gone."""
        approval = services.store.get_approval(approval_id)
        posted = [
            str(e.data["message"])
            for e in events
            if e.kind == "approval_requested"
            and e.data.get("approval_id") == approval_id
            and e.data.get("message")
        ]
        if approval is None or not posted or incident.plan is None or incident.governance is None:
            return
        channel, ts = posted[-1].split("/", 1)
        blocks = approval_blocks(
            incident, incident.plan, incident.governance, approval.id, approval.expires_at
        )
        update = decided_message(blocks, approval)
        if update is not None:
            self._client.chat_update(channel=channel, ts=ts, **update)


def headline(incident: Incident) -> str:
    """The incident's message in the channel."""
    alarms = escape(", ".join(incident.alarms), 500)
    where = escape(f"{incident.account} {incident.region}", 80)
    return f":rotating_light: Incident `{incident.id}` · {alarms} · {where} · timeline in thread"


def thread_line(incident: Incident, event: AuditEvent) -> str:
    """One reply in the thread: what happened, by whom, at what time."""
    at = event.at.strftime("%H:%M:%S UTC")
    actor = escape(event.actor, 60)
    if event.kind == "approved" and event.data.get("automatic"):
        action = escape(f"{event.data.get('action')} on {event.data.get('target')}", 300)
        return f"{at} *autopilot*: the guardrail approved {action} (cheap and low risk)"
    if event.kind == "escalated":
        return f"{at} *escalated* by {actor}. The page it sends:\n{page(incident, event)}"
    detail = escape(one_line(event_detail(event)), LINE_MAX)
    return f"{at} *{event.kind}* {detail} ({actor})"


def page(incident: Incident, event: AuditEvent) -> str:
    """The on-call page an escalation sends, as a quote (its summary is the model's words)."""
    reasons = "; ".join(one_line(str(r)) for r in event.data.get("reasons", []))
    summary = one_line(str(event.data.get("summary", "")))
    lines = [
        f"PAGE on-call: incident {incident.id}, alarms {', '.join(incident.alarms)}",
        f"diagnosis (model-written): {summary}" if summary else "no diagnosis",
        f"why a human: {reasons}" if reasons else "",
    ]
    return "\n".join(f"> {escape(line, 1000)}" for line in lines if line)
