"""Approval requests posted to a Slack channel as Block Kit messages (the app in
`healer.slack.app` handles their buttons)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackClientError

from healer.domain import Approval, GovernanceDecision, Incident, RemediationPlan
from healer.slack.approval_message import approval_blocks, approval_fallback_text

log = logging.getLogger(__name__)


class SlackApprovalChannel:
    """Posts approval requests to a Slack channel; without a client (no bot token or channel
    configured), logs that none was posted."""

    def __init__(self, client: Any, channel: str | None) -> None:
        self._client = client
        self._channel = channel

    def request(
        self,
        incident: Incident,
        plan: RemediationPlan,
        decision: GovernanceDecision,
        approval: Approval,
    ) -> str | None:
        """Post the request; `channel/ts` of the message, or None when none was posted (the
        approval still waits: nothing runs without it)."""
        if self._client is None:
            log.warning("approval %s: no Slack channel configured, none posted", approval.id)
            return None
        post = approval_post(self._channel or "", incident, plan, decision, approval)
        try:
            sent = self._client.chat_postMessage(**post)
        except (SlackClientError, OSError) as exc:  # refused, or unreachable
            log.warning("approval %s: Slack did not take the message: %s", approval.id, exc)
            return None
        return f"{sent['channel']}/{sent['ts']}"


def approval_post(
    channel: str,
    incident: Incident,
    plan: RemediationPlan,
    decision: GovernanceDecision,
    approval: Approval,
) -> dict[str, Any]:
    """The `chat.postMessage` arguments of an approval request."""
    return {
        "channel": channel,
        "text": approval_fallback_text(incident, plan, decision, approval.expires_at),
        "blocks": approval_blocks(incident, plan, decision, approval.id, approval.expires_at),
    }
