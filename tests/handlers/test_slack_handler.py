"""The Slack app on the deployed workflow, through its Lambda (Bolt's Lambda adapter behind the
function URL): requests signed as Slack signs them, the Web API a loopback fake, and the lazy
listener's asynchronous self-invocation recorded and then run as Lambda would run it. A valid
click decides and resumes the Step Functions execution with SendTaskSuccess; a forged, stale or
replayed request changes nothing."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fakes.slack_api import FakeSlack, click_body, command_body, signed_headers
from slack_sdk import WebClient

from healer.domain import ApprovalStatus, Outcome, Step
from healer.handlers import slack
from healer.slack.approval_message import APPROVE_ACTION_ID, REJECT_ACTION_ID
from healer.slack.channel import SlackApprovalChannel
from healer.slack.threads import IncidentThreads
from tests.handlers.conftest import (
    APPROVER,
    ControlPlane,
    Deployment,
    LambdaContext,
    deploy,
    kinds,
    start,
    waiting_approval,
)

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0HEALER"
DECISION_KINDS = {"approved", "rejected", "approval_refused"}
CONTEXT = LambdaContext("healer-slack")


class SelfInvocations:
    """Stands in for the Lambda client Bolt's lazy listener runner invokes this function with:
    records each asynchronous invocation, then runs it through the handler as Lambda would."""

    def __init__(self) -> None:
        self.invoked: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: str) -> dict[str, Any]:
        self.invoked.append({"function": FunctionName, "type": InvocationType})
        slack.handler(json.loads(Payload), CONTEXT)
        return {"StatusCode": 202}


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack_surge(control_plane: ControlPlane, fake_slack: FakeSlack) -> Iterator[Deployment]:
    """The traffic surge case (its scale-out needs approval), with the Slack app's secrets."""
    secrets = {"signing_secret": SIGNING_SECRET, "bot_token": "xoxb-test"}
    for deployment in deploy(
        control_plane, "dev-traffic-surge-api", slack_secrets=secrets, slack_api_url=fake_slack.url
    ):
        client = WebClient(token="xoxb-test", base_url=fake_slack.url)
        deployment.services.channel = SlackApprovalChannel(client, CHANNEL)
        deployment.services.announce = IncidentThreads(client, CHANNEL)
        yield deployment


@pytest.fixture
def invocations(slack_surge: Deployment) -> SelfInvocations:
    recorder = SelfInvocations()
    slack.request_handler().app.listener_runner.lazy_listener_runner.lambda_client = recorder  # type: ignore[attr-defined]
    return recorder


def function_url_event(body: str, headers: dict[str, str], encoded: bool = False) -> dict[str, Any]:
    """A function URL (payload 2.0) event carrying `body` with `headers`."""
    return {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "headers": dict(headers),
        "body": base64.b64encode(body.encode()).decode() if encoded else body,
        "isBase64Encoded": encoded,
    }


def signed(
    body: str, secret: str = SIGNING_SECRET, age: int = 0, encoded: bool = False
) -> dict[str, Any]:
    headers = signed_headers(body, secret, timestamp=int(time.time()) - age)
    return function_url_event(body, headers, encoded)


def approval_message(fake: FakeSlack) -> dict[str, Any]:
    (message,) = [m for m in fake.messages if "approval_" in json.dumps(m["blocks"])]
    return message


def post(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = slack.handler(event, CONTEXT)
    return result


def ephemerals(fake: FakeSlack) -> list[str]:
    return [c["text"] for c in fake.called("chat.postEphemeral")]


def status(deployment: Deployment, approval_id: str) -> ApprovalStatus:
    approval = deployment.store.get_approval(approval_id)
    assert approval is not None
    return approval.status


def done(deployment: Deployment, execution: str) -> str:
    final = deployment.plane.wait_for(execution, {"SUCCEEDED", "FAILED", "ABORTED"})
    return str(final["status"])


def test_an_approve_click_resumes_the_execution_and_a_replay_acts_never_again(
    slack_surge: Deployment, fake_slack: FakeSlack, invocations: SelfInvocations
) -> None:
    incident_id, execution = start(slack_surge)
    waiting_approval(slack_surge, incident_id)
    request = signed(click_body(approval_message(fake_slack), APPROVE_ACTION_ID, APPROVER))

    assert post(request)["statusCode"] == 200

    assert invocations.invoked == [
        {"function": CONTEXT.invoked_function_arn, "type": "Event"}
    ]  # acked at once, the decision ran in the asynchronous self-invocation
    assert done(slack_surge, execution) == "SUCCEEDED"
    incident = slack_surge.store.get(incident_id)
    assert incident is not None
    assert (incident.step, incident.outcome) == (Step.DONE, Outcome.RESOLVED)
    assert slack_surge.mutations() == ["SetDesiredCapacity"]
    assert ephemerals(fake_slack) == ["approved"]
    assert f"Approved by <@{APPROVER}>" in approval_message(fake_slack)["text"]
    replies = [m["text"] for m in fake_slack.messages if m["thread_ts"]]
    assert any("*closed*" in r for r in replies)  # each step's Lambda posted to the thread

    assert post(request)["statusCode"] == 200  # the same signed click, delivered again

    assert ephemerals(fake_slack)[-1].startswith("Not done: ")
    assert slack_surge.mutations() == ["SetDesiredCapacity"]


def test_a_base64_encoded_reject_click_closes_the_incident_rejected_and_runs_nothing(
    slack_surge: Deployment, fake_slack: FakeSlack, invocations: SelfInvocations
) -> None:
    incident_id, execution = start(slack_surge)
    waiting_approval(slack_surge, incident_id)
    body = click_body(approval_message(fake_slack), REJECT_ACTION_ID, APPROVER)

    assert post(signed(body, encoded=True))["statusCode"] == 200

    assert ephemerals(fake_slack) == ["rejected"]
    assert done(slack_surge, execution) == "SUCCEEDED"
    incident = slack_surge.store.get(incident_id)
    assert incident is not None and incident.outcome == Outcome.REJECTED
    assert "rejected" in kinds(slack_surge, incident_id)
    assert slack_surge.mutations() == []


def test_a_click_by_someone_who_may_not_approve_is_refused_and_audited(
    slack_surge: Deployment, fake_slack: FakeSlack, invocations: SelfInvocations
) -> None:
    incident_id, _ = start(slack_surge)
    approval_id = waiting_approval(slack_surge, incident_id)

    post(signed(click_body(approval_message(fake_slack), APPROVE_ACTION_ID, "U0INTRUDER")))

    assert ephemerals(fake_slack) == ["Not done: U0INTRUDER is not an allowed approver"]
    assert status(slack_surge, approval_id) == ApprovalStatus.PENDING
    refused = [e for e in slack_surge.store.events(incident_id) if e.kind == "approval_refused"]
    assert [(e.actor, e.data["approval_id"]) for e in refused] == [
        ("human:U0INTRUDER", approval_id)
    ]
    assert slack_surge.mutations() == []


def test_a_chat_question_is_answered_on_aws_too(
    slack_surge: Deployment, fake_slack: FakeSlack, invocations: SelfInvocations
) -> None:
    incident_id, _ = start(slack_surge)
    waiting_approval(slack_surge, incident_id)

    assert post(signed(command_body(f"why {incident_id}", "U0ANYONE")))["statusCode"] == 200

    (answer,) = ephemerals(fake_slack)
    assert f"*Why `{incident_id}`*" in answer and "approval_requested" in answer


def test_requests_that_are_not_signed_by_slack_just_now_change_nothing(
    slack_surge: Deployment, fake_slack: FakeSlack, invocations: SelfInvocations
) -> None:
    incident_id, _ = start(slack_surge)
    approval_id = waiting_approval(slack_surge, incident_id)
    body = click_body(approval_message(fake_slack), APPROVE_ACTION_ID, APPROVER)
    good = signed(body)
    requests = {
        "forged signature": signed(body, secret="not-the-signing-secret"),
        "signed over 5 minutes ago": signed(body, age=301),
        "unsigned": function_url_event(body, {"content-type": "application/x-www-form-urlencoded"}),
        "timestamp not a number": good
        | {"headers": good["headers"] | {"x-slack-request-timestamp": "soon"}},
        "timestamp of other digits": good
        | {"headers": good["headers"] | {"x-slack-request-timestamp": "²"}},
    }

    answers = {name: post(event)["statusCode"] for name, event in requests.items()}

    assert answers == dict.fromkeys(requests, 401)
    assert invocations.invoked == []
    assert status(slack_surge, approval_id) == ApprovalStatus.PENDING
    assert not DECISION_KINDS & set(kinds(slack_surge, incident_id))
    assert ephemerals(fake_slack) == []
