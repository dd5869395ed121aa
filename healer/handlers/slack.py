"""Lambda behind a function URL: the Slack app (`healer.slack.app`) through Bolt's Lambda
adapter, on the deployed workflow.

The URL has no IAM auth (Slack cannot sign with SigV4): Bolt refuses with 401 any request
without Slack's HMAC signature over its timestamp and body, made with the app's signing secret
within 5 minutes. Each request is acked at once; its work runs in this function invoked again
asynchronously (a lazy listener). A decision resumes the workflow with `SendTaskSuccess`; a
re-investigation asked for in chat starts an execution. With a real model, each chat turn is
answered by the supervisor model without memory of earlier turns (a Lambda's files do not
outlive it); the offline engine needs none.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_sdk import WebClient

from healer.domain import Incident
from healer.handlers.runtime import logger, resume_workflow, runtime, start_workflow, tracer
from healer.slack.app import SlackAccess, build_app
from healer.slack.chat_agent import ModelConversation
from healer.workflow.services import Services

_built: tuple[dict[str, str], SlackRequestHandler] | None = None


class DeployedHealer:
    """The Slack app's view of the deployment."""

    def services(self) -> Services:
        return runtime.services()

    def resume(self, services: Services, incident: Incident) -> bool:
        return resume_workflow(services, incident)

    def start(self, services: Services, incident: Incident) -> None:
        start_workflow(services, incident, f"{incident.id}-chat")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if not re.fullmatch(r"[0-9]{1,12}", str(headers.get("x-slack-request-timestamp", ""))):
        logger.warning("slack request refused: no numeric timestamp")
        return {"statusCode": 401, "body": "invalid request"}  # Bolt would crash on it: 500
    response: dict[str, Any] = request_handler().handle(event, context)
    return response


def request_handler() -> SlackRequestHandler:
    """The Bolt app's Lambda adapter, built once per container (again if the secrets change)."""
    global _built
    secrets = runtime.slack_secrets()
    if _built is None or _built[0] is not secrets:
        settings = runtime.settings()
        base_url = settings.slack_api_url or WebClient.BASE_URL
        app = build_app(
            DeployedHealer(),
            signing_secret=secrets["signing_secret"],
            client=WebClient(token=secrets["bot_token"], base_url=base_url),
            access=SlackAccess(settings.slack_approver_group, settings.slack_requester_group),
            converse=None if settings.model == "offline" else ModelConversation(),
            process_before_response=True,
        )
        _built = (secrets, SlackRequestHandler(app))
    return _built[1]
