"""Slack's Approve / Reject clicks through the function URL handler, on the deployed workflow:
requests are signed as Slack signs them (HMAC-SHA256 of `v0:{timestamp}:{body}` with the app's
signing secret), and the answer to the clicking user goes to a `response_url` served on
loopback by the test. A valid click decides and resumes the workflow; a forged, stale or
foreign request changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest

from healer.domain import ApprovalStatus, Outcome, Step
from healer.handlers import slack
from healer.slack.approval_message import APPROVE_ACTION_ID, REJECT_ACTION_ID
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
DECISION_KINDS = {"approved", "rejected", "approval_refused"}


class ResponseUrl:
    """Slack's `response_url` on loopback: records every message posted to it."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        posted = self.posted

        class Record(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                posted.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Record)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/actions/T1/B1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> ResponseUrl:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def response_url() -> Iterator[ResponseUrl]:
    with ResponseUrl() as server:
        yield server


@pytest.fixture
def slack_surge(control_plane: ControlPlane) -> Iterator[Deployment]:
    """The traffic surge case (its scale-out needs approval), with the Slack app's secrets."""
    secrets = {"signing_secret": SIGNING_SECRET, "bot_token": "xoxb-test"}
    yield from deploy(control_plane, "dev-traffic-surge-api", slack_secrets=secrets)


def click(
    approval_id: str,
    response_url: ResponseUrl,
    action_id: str = APPROVE_ACTION_ID,
    user: str = APPROVER,
) -> dict[str, Any]:
    """The interactivity payload of a button click on the approval message."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "oncall"},
        "response_url": response_url.url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "approval_actions",
                "value": approval_id,
                "type": "button",
            }
        ],
    }


def signed(
    payload: dict[str, Any],
    secret: str = SIGNING_SECRET,
    age: int = 0,
    encoded: bool = False,
) -> dict[str, Any]:
    """A function URL event carrying `payload` as Slack posts it, signed with `secret`
    `age` seconds ago."""
    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()) - age)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        },
        "body": base64.b64encode(body.encode()).decode() if encoded else body,
        "isBase64Encoded": encoded,
    }


def stamped(event: dict[str, Any], timestamp: str) -> dict[str, Any]:
    """`event` with its timestamp header replaced (its signature no longer matches)."""
    return event | {"headers": event["headers"] | {"X-Slack-Request-Timestamp": timestamp}}


def post(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = slack.handler(event, LambdaContext("healer-slack"))
    return result


def status(deployment: Deployment, approval_id: str) -> ApprovalStatus:
    approval = deployment.store.get_approval(approval_id)
    assert approval is not None
    return approval.status


def done(deployment: Deployment, execution: str) -> str:
    final = deployment.plane.wait_for(execution, {"SUCCEEDED", "FAILED", "ABORTED"})
    return str(final["status"])


def test_an_approve_click_runs_the_scale_out_once_even_when_the_click_is_replayed(
    slack_surge: Deployment, response_url: ResponseUrl
) -> None:
    incident_id, execution = start(slack_surge)
    request = signed(click(waiting_approval(slack_surge, incident_id), response_url))

    assert post(request) == {"statusCode": 200, "body": ""}

    assert done(slack_surge, execution) == "SUCCEEDED"
    incident = slack_surge.store.get(incident_id)
    assert incident is not None
    assert (incident.step, incident.outcome) == (Step.DONE, Outcome.RESOLVED)
    assert slack_surge.mutations() == ["SetDesiredCapacity"]
    assert response_url.posted == [
        {"text": "approved", "response_type": "ephemeral", "replace_original": False}
    ]

    assert post(request)["statusCode"] == 200  # the same signed click, delivered again

    late = response_url.posted[-1]
    assert late["text"].startswith("Not done: ") and late["response_type"] == "ephemeral"
    assert slack_surge.mutations() == ["SetDesiredCapacity"]


def test_a_base64_encoded_reject_click_closes_the_incident_rejected_and_runs_nothing(
    slack_surge: Deployment, response_url: ResponseUrl
) -> None:
    incident_id, execution = start(slack_surge)
    approval_id = waiting_approval(slack_surge, incident_id)
    reject = click(approval_id, response_url, action_id=REJECT_ACTION_ID)

    assert post(signed(reject, encoded=True))["statusCode"] == 200

    assert [m["text"] for m in response_url.posted] == ["rejected"]
    assert done(slack_surge, execution) == "SUCCEEDED"
    incident = slack_surge.store.get(incident_id)
    assert incident is not None and incident.outcome == Outcome.REJECTED
    assert "rejected" in kinds(slack_surge, incident_id)
    assert slack_surge.mutations() == []


def test_a_click_by_someone_who_may_not_approve_is_refused_and_audited(
    slack_surge: Deployment, response_url: ResponseUrl
) -> None:
    incident_id, _ = start(slack_surge)
    approval_id = waiting_approval(slack_surge, incident_id)

    post(signed(click(approval_id, response_url, user="U0INTRUDER")))

    assert [m["text"] for m in response_url.posted] == [
        "Not done: U0INTRUDER is not an allowed approver"
    ]
    assert status(slack_surge, approval_id) == ApprovalStatus.PENDING
    refused = [e for e in slack_surge.store.events(incident_id) if e.kind == "approval_refused"]
    assert [(e.actor, e.data["approval_id"]) for e in refused] == [
        ("human:U0INTRUDER", approval_id)
    ]
    assert slack_surge.mutations() == []


def test_requests_that_are_not_a_click_signed_by_slack_just_now_change_nothing(
    slack_surge: Deployment, response_url: ResponseUrl
) -> None:
    incident_id, _ = start(slack_surge)
    approval_id = waiting_approval(slack_surge, incident_id)
    approve = click(approval_id, response_url)
    requests = {
        "forged signature": (signed(approve, secret="not-the-signing-secret"), 401),
        "signed over 5 minutes ago": (signed(approve, age=301), 401),
        "unsigned": ({"headers": {}, "body": signed(approve)["body"]}, 401),
        "timestamp not a number": (stamped(signed(approve), "soon"), 401),
        "not block_actions": (signed(approve | {"type": "interactive_message"}), 200),
    }

    answers = {name: post(event)["statusCode"] for name, (event, _) in requests.items()}

    assert answers == {name: code for name, (_, code) in requests.items()}
    assert status(slack_surge, approval_id) == ApprovalStatus.PENDING
    assert not DECISION_KINDS & set(kinds(slack_surge, incident_id))
    assert response_url.posted == []
