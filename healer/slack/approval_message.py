"""The approval request as a Slack Block Kit message, and a terminal preview of it.

Diagnosis text, evidence (log lines) and parameters are untrusted: they are escaped for
Slack mrkdwn (`&`, `<`, `>`) so they cannot mention anyone or forge links, sent with
`verbatim` so Slack does not linkify them, and cut to the Block Kit size limits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from healer.domain import (
    ActionProposal,
    Approval,
    ApprovalStatus,
    GovernanceDecision,
    Incident,
    RemediationPlan,
    Risk,
)
from healer.slack.mrkdwn import clip, escape, mention, one_line

HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_MAX = 2000
EVIDENCE_SHOWN = 3
EVIDENCE_ITEM_MAX = 300
REASONS_SHOWN = 6
REASON_ITEM_MAX = 300
ACTIONS_BLOCK_ID = "approval_actions"
STATUS_BLOCK_ID = "approval_status"
APPROVE_ACTION_ID = "approve"
REJECT_ACTION_ID = "reject"

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_PREVIEW_WIDTH = 72


def approval_blocks(
    incident: Incident,
    plan: RemediationPlan,
    decision: GovernanceDecision,
    approval_id: str,
    expires_at: datetime,
    *,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Build the approval request message as Block Kit JSON.

    Args:
        incident: The incident the plan is for.
        plan: The plan to approve; it must carry an action.
        decision: The guardrail's verdict (risk and reasons).
        approval_id: Id of the pending approval; both buttons carry it as their value.
        expires_at: When the approval expires (naive times are taken as UTC).
        now: The current time, for "in 30 min"; defaults to the clock.

    Returns:
        The blocks, as dicts ready for `chat.postMessage(blocks=...)`.

    Raises:
        ValueError: The plan has no action.
    """
    action = _action_of(plan)
    diagnosis = plan.diagnosis
    high_risk = decision.risk is Risk.HIGH
    expiry = _expiry_text(expires_at, now)
    expiry_field = expiry.removeprefix("expires ")

    root_cause = (
        f"*Root cause:* `{diagnosis.category}` (confidence {diagnosis.confidence:.2f}), "
        f"runbook `{escape(diagnosis.runbook_id or 'none', 120)}`\n"
        "_Diagnostician's summary (model-written; log text appears only under Evidence):_\n>"
        + escape(one_line(diagnosis.summary), SECTION_TEXT_MAX - 400)
    )
    fields = [
        f"*Action*\n`{action.action}` on `{escape(action.target, 200)}`",
        f"*Parameters*\n{_params_text(action)}",
        f"*Cost*\n{_cost_text(plan)}",
        f"*Risk*\n{decision.risk}",
        f"*Decision*\n{decision.decision}",
        f"*Expires*\n{expiry_field}",
    ]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(_title(action), HEADER_MAX), emoji=False)),
        SectionBlock(text=_mrkdwn(root_cause, SECTION_TEXT_MAX)),
        SectionBlock(
            text=_mrkdwn(
                "*Evidence* (quoted from the account: data, never instructions)\n"
                + _bullets(diagnosis.evidence, EVIDENCE_SHOWN, EVIDENCE_ITEM_MAX, quoted=True),
                SECTION_TEXT_MAX,
            )
        ),
        SectionBlock(fields=[_mrkdwn(field, FIELD_MAX) for field in fields]),
        SectionBlock(
            text=_mrkdwn(
                "*Why approval is needed*\n"
                + _bullets(list(decision.reasons), REASONS_SHOWN, REASON_ITEM_MAX),
                SECTION_TEXT_MAX,
            )
        ),
        ContextBlock(elements=[_mrkdwn(_context_text(incident, approval_id, expiry), 3000)]),
        DividerBlock(),
        ActionsBlock(
            block_id=ACTIONS_BLOCK_ID,
            elements=[
                ButtonElement(
                    text=PlainTextObject(text="Approve", emoji=False),
                    action_id=APPROVE_ACTION_ID,
                    value=approval_id,
                    style="primary",
                    confirm=_high_risk_confirm(action) if high_risk else None,
                ),
                ButtonElement(
                    text=PlainTextObject(text="Reject", emoji=False),
                    action_id=REJECT_ACTION_ID,
                    value=approval_id,
                    style="danger",
                ),
            ],
        ),
    ]
    return [block.to_dict() for block in blocks]


def approval_fallback_text(
    incident: Incident,
    plan: RemediationPlan,
    decision: GovernanceDecision,
    expires_at: datetime,
    *,
    now: datetime | None = None,
) -> str:
    """The message's notification text (shown in alerts and where blocks cannot be)."""
    action = _action_of(plan)
    cost = plan.cost
    usd = "cost not estimated" if cost is None else f"cost {_usd(cost.usd)}"
    return escape(
        f"{_title(action)} ({incident.id}): {usd}, risk {decision.risk}, "
        f"{_expiry_text(expires_at, now)}",
        SECTION_TEXT_MAX,
    )


def decided_message(blocks: list[dict[str, Any]], approval: Approval) -> dict[str, Any] | None:
    """The `chat.update` text and blocks that show on an approval message who decided and
    when, or that it expired (the buttons go once it is no longer pending); None while nobody
    has approved yet."""
    status = status_line(approval)
    if status is None:
        return None
    kept = [b for b in blocks if b.get("block_id") != STATUS_BLOCK_ID]
    if approval.status is not ApprovalStatus.PENDING:
        kept = [b for b in kept if b.get("block_id") != ACTIONS_BLOCK_ID]
    line = {"type": "mrkdwn", "text": status}
    kept.append({"type": "context", "block_id": STATUS_BLOCK_ID, "elements": [line]})
    return {"text": status, "blocks": kept}


def status_line(approval: Approval) -> str | None:
    """Who decided an approval and when, in one line (None: pending, nobody approved yet)."""
    by = ", ".join(mention(user) for user in approval.approved_by)
    if approval.status is ApprovalStatus.PENDING:
        if not approval.approved_by:
            return None
        count = f"{len(approval.approved_by)} of {approval.approvals_needed}"
        return f"{count} approvals ({by}); another approver is needed"
    when = _when(approval.decided_at)
    if approval.status in (ApprovalStatus.APPROVED, ApprovalStatus.CONSUMED):
        return f"Approved by {by} at {when}"
    if approval.status is ApprovalStatus.REJECTED:
        return f"Rejected by {mention(approval.decided_by or 'someone')} at {when}; nothing ran"
    return f"Expired at {_when(approval.expires_at)}; nothing ran"


def _when(moment: datetime | None) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def render_blocks_preview(blocks: list[dict[str, Any]]) -> str:
    """Render Block Kit blocks as plain text for a terminal ("as it would appear in Slack")."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "═" * min(len(title), _PREVIEW_WIDTH)]
        elif kind == "section":
            if "text" in block:
                lines += _plain(block["text"]["text"]).splitlines()
            for field in block.get("fields", []):
                label, _, value = _plain(field["text"]).partition("\n")
                lines.append(f"  {label}: " + value.replace("\n", "\n    "))
        elif kind == "context":
            lines.append("  ".join(_plain(e.get("text", "")) for e in block["elements"]))
        elif kind == "divider":
            lines.append("─" * _PREVIEW_WIDTH)
        elif kind == "actions":
            lines.append(
                "  ".join(f"[ {e['text']['text']} ]" for e in block["elements"] if "text" in e)
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- helpers


def _high_risk_confirm(action: ActionProposal) -> ConfirmObject:
    """The dialog Slack shows before a high-risk Approve click is sent."""
    return ConfirmObject(
        title="Approve a high-risk action?",
        text=f"{action.action.value} on {clip(action.target, 200)} is high risk.",
        confirm="Approve",
        deny="Cancel",
    )


def _action_of(plan: RemediationPlan) -> ActionProposal:
    if plan.action is None:
        raise ValueError("plan.action: an approval request needs an action to approve")
    return plan.action


def _title(action: ActionProposal) -> str:
    return f"Approval needed: {action.action} on {action.target}"


def _params_text(action: ActionProposal) -> str:
    if not action.params:
        return "none"
    parts = []
    for name, value in sorted(action.params.items()):
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{escape(name, 100)} = {escape(one_line(shown), 300)}")
    return "\n".join(parts)


def _cost_text(plan: RemediationPlan) -> str:
    if plan.cost is None:
        return "not estimated"
    return f"{_usd(plan.cost.usd)}\n{escape(one_line(plan.cost.breakdown), 1000)}"


def _usd(usd: float | None) -> str:
    if usd is None:
        return "unknown"
    return f"-${-usd:,.2f}" if usd < 0 else f"${usd:,.2f}"


def _bullets(items: list[str], shown: int, item_max: int, quoted: bool = False) -> str:
    """Escaped one-line items; `quoted` shows them as Slack quotes of inline code, so that no
    markup in them (log text) takes effect."""
    mark = "> " if quoted else "• "
    if not items:
        return f"{mark}none recorded"
    texts = [escape(one_line(item), item_max) for item in items[:shown]]
    if quoted:
        texts = ["`" + text.replace("`", "'") + "`" for text in texts]
    lines = [mark + text for text in texts]
    if len(items) > shown:
        lines.append(f"{mark}…and {len(items) - shown} more")
    return "\n".join(lines)


def _context_text(incident: Incident, approval_id: str, expiry: str) -> str:
    parts = [
        f"Incident `{escape(incident.id, 200)}`",
        f"{escape(incident.account, 20)} {escape(incident.region, 30)}",
        f"approval `{escape(approval_id, 200)}`",
        expiry,
    ]
    requester = incident.requested_by
    if requester and _USER_ID.fullmatch(requester):
        parts.append(f"requested by <@{requester}>, who may not approve")
    return " · ".join(parts)


def _expiry_text(expires_at: datetime, now: datetime | None) -> str:
    """`expires 03:41 UTC (in 30 min)`, with the date when it is not today."""
    expires = _utc(expires_at)
    current = _utc(now) if now is not None else datetime.now(UTC)
    when = expires.strftime("%H:%M UTC")
    if expires.date() != current.date():
        when = expires.strftime("%Y-%m-%d %H:%M UTC")
    minutes = round((expires - current).total_seconds() / 60)
    if minutes <= 0:
        return f"expires {when} (already passed)"
    hours, mins = divmod(minutes, 60)
    left = f"{mins} min" if not hours else f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"expires {when} (in {left})"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _mrkdwn(text: str, limit: int) -> MarkdownTextObject:
    """A mrkdwn text object that Slack shows as given (no auto-linking), cut to `limit`."""
    return MarkdownTextObject(text=clip(text, limit), verbatim=True)


def _plain(mrkdwn: str) -> str:
    """Mrkdwn to terminal text: drop bold and code marks, undo the escaping."""
    text = re.sub(r"(?<!\w)\*([^*\n]+)\*(?!\w)", r"\1", mrkdwn)
    return unescape(text.replace("`", ""))
