"""The conversation with the supervisor in Slack, answered by the offline engine: templated,
deterministic answers read from the store, the audit trail and the cost tools.

`/healer status | show INC | why INC | cost ACTION TARGET [key=value …] | heal INC | help`, and
the same in plain words in a mention or a DM ("why did you restart web-1?", "what would
scaling api-asg by 4 cost?"). Everything from the account or its logs is escaped and shown as
quoted evidence, never as the healer's own words. `heal` re-investigates an incident as a new
incident asked for by the user: it goes through investigate → govern like any other, and the
guardrail makes someone else approve it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from healer.domain import ActionId, ActionProposal, Incident, Step
from healer.slack.mrkdwn import escape, mention, one_line, quoted
from healer.timeline import event_detail
from healer.workflow.ingest import new_incident_id
from healer.workflow.services import Services
from tools.costing import price_proposal

START = Callable[[Services, Incident], None]
"""Runs a new incident's workflow (the local runner embedded, a Step Functions execution on
AWS)."""

TIMELINE_SHOWN = 15
EVIDENCE_SHOWN = 4
ITEM_MAX = 300
HELP = (
    "*Ask me:* `status` · `show INC` · `why INC` · `cost ACTION TARGET [key=value …]` · "
    "`heal INC` (re-investigate; someone else approves what it proposes) · or in plain words, "
    'e.g. "why did you restart web-1?", "what would scaling api-asg by 4 cost?"'
)

_INCIDENT_ID = re.compile(r"\binc-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}\b")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")
_SCALE_BY = re.compile(r"\bscal\w*\s+(\S+)\s+(?:out\s+)?by\s+(\d+)", re.IGNORECASE)
_PARAM = re.compile(r"^([a-z_]+)=(\S+)$")


@dataclass(frozen=True)
class ChatTurn:
    """One message to the supervisor: what was said, by whom, and whether they may ask for
    actions (everyone else may only ask questions)."""

    text: str
    user: str
    may_act: bool


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    started: str | None = None
    """The incident a chat-initiated action opened, if one did."""


def answer(services: Services, turn: ChatTurn, start: START) -> ChatAnswer:
    """The supervisor's answer to one chat message."""
    words = turn.text.strip().split()
    command = words[0].lower() if words else "help"
    args = words[1:]
    if _is_command(command, args):
        return _command(services, turn, command, args, start)
    return _plain_words(services, turn, start)


def _is_command(command: str, args: list[str]) -> bool:
    """`status`, `help`, `cost ACTION …`, or `show|why|heal inc-…`; anything else is words."""
    if command in ("status", "help"):
        return len(args) == 0
    if command == "cost":
        return bool(args) and args[0] in {a.value for a in ActionId}
    return command in ("show", "why", "heal") and (not args or args[0].startswith("inc-"))


def _command(
    services: Services, turn: ChatTurn, command: str, args: list[str], start: START
) -> ChatAnswer:
    if command == "status":
        return ChatAnswer(status_text(services))
    if command == "help":
        return ChatAnswer(HELP)
    if command == "cost":
        if len(args) < 2:
            return ChatAnswer(
                "usage: `cost ACTION TARGET [key=value …]`, e.g. `cost scale_out api-asg count=4`"
            )
        return ChatAnswer(cost_text(services, args[0], args[1], args[2:]))
    if not args:
        return ChatAnswer(f"usage: `{command} INC` (an incident id; `status` lists the open ones)")
    incident = find_incident(services, args[0])
    if incident is None:
        return ChatAnswer(f"I know no incident `{escape(args[0], 80)}`.")
    if command == "show":
        return ChatAnswer(show_text(services, incident))
    if command == "why":
        return ChatAnswer(why_text(services, incident))
    return heal(services, turn, incident, start)


def _plain_words(services: Services, turn: ChatTurn, start: START) -> ChatAnswer:
    """A question in words: pick the intent by its verbs and the incident by what it names."""
    text = turn.text
    lowered = text.lower()
    if scale := _SCALE_BY.search(text):
        return ChatAnswer(
            cost_text(services, ActionId.SCALE_OUT.value, scale[1], [f"count={scale[2]}"])
        )
    incident = _mentioned(services, text)
    if incident is None:
        if "status" in lowered or "open" in lowered:
            return ChatAnswer(status_text(services))
        return ChatAnswer(f"I could not tell which incident you mean.\n{HELP}")
    if re.search(r"\b(heal|fix|re-?investigate|try again)\b", lowered):
        return heal(services, turn, incident, start)
    if re.search(r"\b(why|how come|reason)\b", lowered):
        return ChatAnswer(why_text(services, incident))
    return ChatAnswer(show_text(services, incident))


def find_incident(services: Services, ref: str) -> Incident | None:
    """The incident with this id, or the only recent one whose id starts with it."""
    exact = services.store.get(ref)
    if exact is not None:
        return exact
    matches = [i for i in services.store.list(limit=200) if i.id.startswith(ref)]
    return matches[0] if len(matches) == 1 else None


def _mentioned(services: Services, text: str) -> Incident | None:
    """The incident named by id, else the newest one whose alarm, resource or action target
    is a word of the message."""
    if found := _INCIDENT_ID.search(text):
        return services.store.get(found[0])
    words = {w.lower().rstrip(".?!,") for w in _WORD.findall(text)}
    for incident in services.store.list(limit=200):
        names = {*incident.alarms, *incident.resources}
        if incident.plan and incident.plan.action:
            names.add(incident.plan.action.target)
        if words & {n.lower() for n in names}:
            return incident
    return None


def status_text(services: Services) -> str:
    open_ = services.store.list_open()
    if not open_:
        return "No open incidents."
    lines = [f"*{len(open_)} open incident(s)*"]
    for incident in open_[:20]:
        alarms = escape(", ".join(incident.alarms), 200)
        lines.append(f"• `{incident.id}` {alarms} — {_state(incident)}")
    return "\n".join(lines)


def _state(incident: Incident) -> str:
    if incident.outcome is not None:
        return incident.outcome.value
    if incident.step is Step.AWAIT_APPROVAL:
        return "waiting for approval"
    return f"at {incident.step.value}"


def show_text(services: Services, incident: Incident) -> str:
    lines = [f"*Incident `{incident.id}`* — {_state(incident)}"]
    lines.append(f"alarms: {escape(', '.join(incident.alarms), 500)}")
    if incident.plan and incident.plan.action:
        action = incident.plan.action
        lines.append(f"action: `{action.action.value}` on `{escape(action.target, 200)}`")
    lines.append(_timeline(services, incident))
    return "\n".join(lines)


def why_text(services: Services, incident: Incident) -> str:
    """The diagnosis, the evidence it rests on (quoted), the guardrail's reasons, and the
    timeline events they come from."""
    if incident.plan is None:
        return f"`{incident.id}` has not been diagnosed yet ({_state(incident)}).\n" + _timeline(
            services, incident
        )
    diagnosis = incident.plan.diagnosis
    runbook = escape(str(diagnosis.runbook_id), 120)
    lines = [
        f"*Why `{incident.id}`*: diagnosed *{diagnosis.category.value}* "
        f"(confidence {diagnosis.confidence:.2f}, runbook `{runbook}`).",
        f"_Summary (written by the model):_ {escape(one_line(diagnosis.summary), 600)}",
    ]
    if diagnosis.evidence:
        lines.append(
            "_Evidence, quoted from the account's logs and metrics (data, not instructions):_"
        )
        lines.append(quoted(diagnosis.evidence[:EVIDENCE_SHOWN], ITEM_MAX))
    if incident.plan.action:
        action = incident.plan.action
        lines.append(f"*Action:* `{action.action.value}` on `{escape(action.target, 200)}`")
    if incident.plan.cost:
        lines.append(f"*Cost:* {escape(incident.plan.cost.breakdown, 500)}")
    if incident.governance:
        governance = incident.governance
        lines.append(f"*Guardrail:* {governance.decision.value}, risk {governance.risk.value}")
        lines += [f"• {escape(one_line(reason), ITEM_MAX)}" for reason in governance.reasons]
    lines.append(_timeline(services, incident))
    return "\n".join(lines)


def _timeline(services: Services, incident: Incident) -> str:
    """The audit trail's events, each with its number so an answer can be checked."""
    events = services.store.events(incident.id)
    shown = events[-TIMELINE_SHOWN:]
    lines = [f"_Timeline (audit trail, {len(events)} events):_"]
    for event in shown:
        detail = escape(one_line(event_detail(event)), 160)
        at = event.at.strftime("%H:%M:%S UTC")
        lines.append(f"#{event.seq} {at} *{event.kind}* {detail} ({escape(event.actor, 60)})")
    return "\n".join(lines)


def cost_text(services: Services, action: str, target: str, raw_params: list[str]) -> str:
    """The price of one catalog action, computed in code from AWS facts (not estimated by a
    model)."""
    try:
        action_id = ActionId(action)
    except ValueError:
        known = ", ".join(a.value for a in ActionId)
        return f"`{escape(action, 60)}` is not a catalog action (one of: {known})."
    params: dict[str, object] = {}
    for raw in raw_params:
        match = _PARAM.match(raw)
        if match is None:
            return f"`{escape(raw, 60)}` is not a `key=value` parameter."
        value = match[2]
        params[match[1]] = int(value) if value.isdigit() else value
    proposal = ActionProposal(action=action_id, target=target, params=params)
    estimate = price_proposal(services.aws, services.catalog, services.prices, proposal)
    usd = "unknown" if estimate.usd is None else f"${estimate.usd:.2f}"
    return (
        f"*{action_id.value}* on `{escape(target, 200)}` would cost *{usd}*: "
        f"{escape(estimate.breakdown, 800)}"
    )


def heal(services: Services, turn: ChatTurn, incident: Incident, start: START) -> ChatAnswer:
    """Re-investigate as a new incident asked for by the user (who may not approve it)."""
    if not turn.may_act:
        return ChatAnswer(
            "You may ask questions here, but not for actions: ask an on-call approver."
        )
    if incident.closed_at is None and incident.step is not Step.DONE:
        return ChatAnswer(
            f"`{incident.id}` is still open ({_state(incident)}); nothing new started."
        )
    now = services.clock()
    again = Incident(
        id=new_incident_id(now),
        opened_at=now,
        account=incident.account,
        region=incident.region,
        alarms=list(incident.alarms),
        resources=list(incident.resources),
        requested_by=turn.user,
        world=incident.world,
        runtime={k: v for k, v in incident.runtime.items() if k == "sandbox_case"},
    )
    services.store.save(again)
    services.store.append(
        again.id,
        "incident_opened",
        f"human:{turn.user}",
        {"alarm": ", ".join(again.alarms), "requested_in": "slack", "reinvestigates": incident.id},
    )
    start(services, again)
    current = services.store.get(again.id) or again
    return ChatAnswer(
        f"Re-investigating `{incident.id}` as `{again.id}`, asked for by {mention(turn.user)}: "
        f"{_state(current)}. Whatever it proposes needs another approver.",
        started=again.id,
    )
