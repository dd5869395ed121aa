"""Lambda behind a function URL: Slack's interactivity requests (the Approve / Reject buttons).

The URL has no IAM auth (Slack cannot sign with SigV4); every request must carry Slack's HMAC
signature over its timestamp and body, made with the app's signing secret, within 5 minutes.
Anything else is refused with 401 before its body is read. The button carries the approval id
only; the decision is `approval.decide`'s, answered to the clicking user alone. The Slack app
itself (threads, chat, slash commands) is issue 10's.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal
from urllib.parse import parse_qs

from aws_lambda_powertools.utilities.typing import LambdaContext
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from healer.handlers.approval import DecisionRequest, decide
from healer.handlers.runtime import logger, runtime, tracer
from healer.slack.approval_message import APPROVE_ACTION_ID, REJECT_ACTION_ID

DECISIONS: dict[str, Literal["approve", "reject"]] = {
    APPROVE_ACTION_ID: "approve",
    REJECT_ACTION_ID: "reject",
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    verifier = SignatureVerifier(runtime.slack_secrets()["signing_secret"])
    if not _signed_by_slack(verifier, body, headers):
        logger.warning("slack request refused: bad or stale signature")
        return {"statusCode": 401, "body": "invalid signature"}
    payload = json.loads(parse_qs(body).get("payload", ["{}"])[0])
    answer = _answer(payload)
    if answer and payload.get("response_url"):
        WebhookClient(payload["response_url"]).send(
            text=answer, response_type="ephemeral", replace_original=False
        )
    return {"statusCode": 200, "body": ""}


def _signed_by_slack(verifier: SignatureVerifier, body: str, headers: dict[str, str]) -> bool:
    """Slack's signature over this body, made within 5 minutes (a timestamp that is not a
    number is refused too: the verifier raises on it)."""
    try:
        return verifier.is_valid_request(body, headers)
    except ValueError:
        return False


def _answer(payload: dict[str, Any]) -> str | None:
    """What the clicking user is told, or None for a request that is not a decision."""
    actions = payload.get("actions") or []
    if payload.get("type") != "block_actions" or not actions:
        return None
    action = actions[0]
    decision = DECISIONS.get(action.get("action_id", ""))
    user = (payload.get("user") or {}).get("id")
    if decision is None or not user:
        return None
    request = DecisionRequest(
        approval_id=str(action.get("value", "")), decision=decision, user=user
    )
    result = decide(runtime.services(), request)
    return result.message if result.ok else f"Not done: {result.message}"
