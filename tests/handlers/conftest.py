"""The AWS deployment offline: a moto server on loopback runs DynamoDB and Step Functions
(executing the real state machine), and every Lambda it invokes is the real handler, called
in this process; the world the steps act on is a sandbox seeded from a replay case."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

# Powertools reads these when the handler modules are imported.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "IncidentHealer")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "incident-healer")

from healer.sandbox.server import LoopbackMotoServer

ASL = Path(__file__).resolve().parents[2] / "infra" / "statemachine" / "healer.asl.json"
REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTIONS = ("healer-ingest", "healer-analyse", "healer-remediate")


def render_asl(**values: object) -> str:
    """The state machine definition with Terraform's template values filled in."""
    text = ASL.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", str(value))
    assert "${" not in text, "a template value is missing"
    return text


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = "req-1"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"


@dataclass
class ControlPlane:
    """The deployment's control plane on moto: clients, and the in-process Lambdas."""

    endpoint: str
    handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = field(default_factory=dict)
    invocations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return boto3.client(service, **_credentials(self.endpoint))

    def resource(self, service: str) -> Any:
        return boto3.resource(service, **_credentials(self.endpoint))

    def invoke(self, name: str, body: bytes, response_headers: dict[str, str]) -> bytes:
        """What Lambda does with an invocation: run the handler; an exception becomes a
        function error named by its type (which the state machine's Retry and Catch match)."""
        event = json.loads(body or b"{}")
        self.invocations.append((name, event))
        try:
            result = self.handlers[name](event, LambdaContext(name))
        except Exception as exc:  # the Lambda runtime reports every uncaught error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
        return json.dumps(result).encode()

    def set_up(self) -> str:
        """Step Functions executing definitions, the Lambda functions, their role; its ARN.
        (moto's state is one per process: call this after a sandbox has reset it.)"""
        requests.post(
            f"{self.endpoint}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=5,
        ).raise_for_status()
        iam = self.client("iam")
        role: str = iam.create_role(RoleName="healer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for name in FUNCTIONS:
            self.client("lambda").create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role,
                Handler="healer.handlers.steps.handler",
                Code={"ZipFile": _empty_zip()},
            )
        return role

    def wait_for(self, arn: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] in statuses or time.monotonic() > deadline:
                return described
            time.sleep(0.1)


@pytest.fixture
def control_plane(monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlPlane]:
    from moto.awslambda.models import LambdaBackend

    server = LoopbackMotoServer()
    server.start()
    plane = ControlPlane(server.endpoint_url)
    port = server.endpoint_url.rsplit(":", 1)[1]
    monkeypatch.setenv("MOTO_PORT", port)  # where moto's Step Functions calls Lambda

    def invoke(
        backend: Any, name: str, qualifier: Any, body: Any, headers: Any, response: Any
    ) -> bytes:
        return plane.invoke(name.rsplit(":", 1)[-1], body, response)

    monkeypatch.setattr(LambdaBackend, "invoke", invoke)
    try:
        yield plane
    finally:
        server.stop()


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "")
    return buffer.getvalue()


def _credentials(endpoint: str) -> dict[str, str]:
    return {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
