"""The Slack app: one Bolt app for every runner (HTTP for `healer slack serve`, Socket Mode, and
the Lambda adapter on AWS).

Bolt verifies each request's signature (HMAC-SHA256 with the signing secret, 5-minute window)
before any listener runs. Every listener acks at once and does its work in a lazy listener (on
Lambda, an asynchronous self-invocation), so Slack always gets its answer within 3 seconds.

- Approve / Reject: the button carries the approval id only. The clicker must be an approver
  (a configured user id or a member of the approvers' user group); the decision rules (single
  use, no self-approval, a second approver for high risk) are the workflow's and audit every
  attempt. The message is updated in place with who decided and when; the clicker alone is told
  what happened, also when nothing did (late, double or foreign clicks).
- `/healer …`, mentions and DMs: the supervisor's answers, templated by the offline engine
  (`healer.slack.chat`) or from a model (`healer.slack.chat_agent`). Only members of the
  requesters' group (or approvers, when no group is set) may ask for actions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from healer.domain import Incident
from healer.slack.approval_message import APPROVE_ACTION_ID, REJECT_ACTION_ID, decided_message
from healer.slack.chat import START, ChatAnswer, ChatTurn, answer
from healer.slack.mrkdwn import escape
from healer.workflow.decisions import DecisionRequest, decide
from healer.workflow.services import Services

log = logging.getLogger(__name__)

Converse = Callable[[Services, ChatTurn, START, str], ChatAnswer]
"""Answers one chat turn in a conversation (its Slack thread)."""

DECISIONS: dict[str, Literal["approve", "reject"]] = {
    APPROVE_ACTION_ID: "approve",
    REJECT_ACTION_ID: "reject",
}


class Healer(Protocol):
    """What the Slack app drives: the embedded runtime or the AWS deployment."""

    def services(self) -> Services:
        """The services to answer with (built once per process or container)."""
        ...

    def resume(self, services: Services, incident: Incident) -> bool:
        """Move a decided incident's workflow on; False when none waits."""
        ...

    def start(self, services: Services, incident: Incident) -> None:
        """Run a new (chat-initiated) incident's workflow."""
        ...


@dataclass(frozen=True)
class SlackAccess:
    """Who may do what, besides the approvers named in the settings (`services.approvers`).

    Args:
        approver_group: A user group (`S…`) whose members may approve.
        requester_group: A user group whose members may ask for actions in chat; when unset,
            only approvers may.
    """

    approver_group: str | None = None
    requester_group: str | None = None


def build_app(
    healer: Healer,
    *,
    signing_secret: str,
    client: WebClient,
    access: SlackAccess = SlackAccess(),
    converse: Converse | None = None,
    process_before_response: bool = False,
    listener_executor: Executor | None = None,
) -> App:
    """The Bolt app with its listeners.

    Args:
        healer: What decisions and chat act on.
        signing_secret: The Slack app's signing secret (requests are verified with it).
        client: The Web API client, with the bot token (`base_url` points tests at a fake).
        access: Who may approve and who may ask for actions.
        converse: Answers chat with a model (`ModelConversation`); default: the offline
            engine's templated answers.
        process_before_response: True on Lambda (FaaS must not run after responding).
        listener_executor: Where lazy listeners run (tests pass one that runs them at once).
    """
    app = App(
        signing_secret=signing_secret,
        client=client,
        token_verification_enabled=False,
        process_before_response=process_before_response,
        listener_executor=listener_executor,
    )
    members = _GroupMembers(client)

    def acknowledge(ack: Ack) -> None:
        ack()

    def on_decision(body: dict[str, Any], client: WebClient) -> None:
        services = healer.services()
        user = body["user"]["id"]
        action = body["actions"][0]
        approvers = [*services.approvers, *members(access.approver_group)]
        request = DecisionRequest(
            approval_id=str(action.get("value", "")),
            decision=DECISIONS[action["action_id"]],
            user=user,
        )
        result = decide(replace(services, approvers=approvers), request, healer.resume)
        channel = body["channel"]["id"]
        if body.get("message"):
            _update_message(client, services, channel, body["message"], request.approval_id)
        text = result.message if result.ok else f"Not done: {result.message}"
        client.chat_postEphemeral(channel=channel, user=user, text=escape(text, 3000))

    def on_command(body: dict[str, Any], client: WebClient) -> None:
        user, channel = body["user_id"], body["channel_id"]
        reply = _answer(body["text"], user, f"{channel}-{user}")
        client.chat_postEphemeral(channel=channel, user=user, text=reply)

    def on_mention(event: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        if _retried(request) or "user" not in event:
            return  # Slack delivers again when the ack was slow: the first one is answered
        text = event.get("text", "").split(">", 1)[-1]  # drop the leading <@BOT>
        thread = event.get("thread_ts") or event["ts"]
        reply = _answer(text, event["user"], thread)
        client.chat_postMessage(channel=event["channel"], thread_ts=thread, text=reply)

    def on_message(event: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return  # only people's direct messages; channels are for mentions
        if _retried(request) or "user" not in event:
            return
        thread = event.get("thread_ts") or event["channel"]
        text = _answer(event.get("text", ""), event["user"], thread)
        client.chat_postMessage(channel=event["channel"], text=text)

    def _answer(text: str, user: str, thread: str) -> str:
        services = healer.services()
        if access.requester_group:
            may_act = user in members(access.requester_group)
        else:
            may_act = user in services.approvers or user in members(access.approver_group)
        turn = ChatTurn(text=text, user=user, may_act=may_act)
        if converse is None:
            return answer(services, turn, healer.start).text
        return converse(services, turn, healer.start, thread).text

    for action_id in DECISIONS:
        app.action(action_id)(ack=acknowledge, lazy=[on_decision])
    app.command("/healer")(ack=acknowledge, lazy=[on_command])
    app.event("app_mention")(ack=acknowledge, lazy=[on_mention])
    app.event("message")(ack=acknowledge, lazy=[on_message])
    return app


def _retried(request: BoltRequest) -> bool:
    """A delivery Slack repeats because the first ack seemed late (it was answered)."""
    return bool(request.headers.get("x-slack-retry-num"))


class _GroupMembers:
    """A user group's members (`usergroups.users.list`), read when asked: membership changes
    take effect at the next click."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def __call__(self, group: str | None) -> list[str]:
        if not group:
            return []
        try:
            return list(self._client.usergroups_users_list(usergroup=group)["users"])
        except SlackApiError as exc:
            log.warning("user group %s: %s; nobody is a member for now", group, exc)
            return []


def _update_message(
    client: WebClient,
    services: Services,
    channel: str,
    message: dict[str, Any],
    approval_id: str,
) -> None:
    """Show on the approval message who decided and when, from the store. Two clicks racing
    may update it out of order, so it is read again after each update until it holds still."""
    shown = None
    for _ in range(3):
        approval = services.store.get_approval(approval_id)
        if approval is None or approval == shown:
            return
        update = decided_message(message.get("blocks", []), approval)
        if update is None:
            return
        client.chat_update(channel=channel, ts=message["ts"], **update)
        shown = approval
