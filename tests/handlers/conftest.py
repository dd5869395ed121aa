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

from healer.cases import load_case
from healer.config import HealerSettings
from healer.handlers import approval, ingest, steps
from healer.handlers.runtime import execution_name, runtime
from healer.replay import ReplayClock, sandbox_for
from healer.sandbox import Sandbox
from healer.sandbox.server import LoopbackMotoServer
from healer.store import DynamoStore, StaticAuditKey
from healer.store.digest_sinks import DigestSink
from healer.store.dynamodb import table_definition
from healer.workflow.services import Services

ASL = Path(__file__).resolve().parents[2] / "infra" / "statemachine" / "healer.asl.json"
CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"
REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTIONS = ("healer-ingest", "healer-analyse", "healer-remediate")
APPROVER = "U024BE7LH"
MUTATIONS = {"SetDesiredCapacity", "UpdateAutoScalingGroup", "SendCommand"}


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


@dataclass
class Deployment:
    plane: ControlPlane
    sandbox: Sandbox
    services: Services
    store: DynamoStore
    state_machine: str

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = ingest.handler(event, LambdaContext("healer-ingest"))
        return result

    def execution_arn(self, incident_id: str, dedup_key: str) -> str:
        name = execution_name(incident_id, dedup_key)
        return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:healer:{name}"

    def mutations(self) -> list[str]:
        return [c.operation for c in self.sandbox.world_calls if c.operation in MUTATIONS]

    @property
    def clock(self) -> ReplayClock:
        """The services' clock, which a test moves on (an approval's deadline passes)."""
        assert isinstance(self.services.clock, ReplayClock)
        return self.services.clock


def deploy(
    plane: ControlPlane,
    case_id: str,
    approval_ttl_seconds: int = 60,
    *,
    digests: DigestSink | None = None,
    slack_secrets: dict[str, str] | None = None,
    slack_api_url: str | None = None,
) -> Iterator[Deployment]:
    store = DynamoStore(
        plane.resource("dynamodb"),
        "healer",
        audit_key=StaticAuditKey(b"k" * 32),
        digests=digests,
    )
    settings = HealerSettings(approvers=[APPROVER])
    path = CASES / f"{case_id}.yaml"
    with sandbox_for(load_case(path), path, store, settings) as (sandbox, services):
        role = plane.set_up()  # after the sandbox reset moto
        plane.client("dynamodb").create_table(**table_definition("healer"))
        sfn = plane.client("stepfunctions")
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
        machine = sfn.create_state_machine(
            name="healer",
            definition=render_asl(
                analyse_function_arn=f"{arn}healer-analyse",
                remediate_function_arn=f"{arn}healer-remediate",
                approval_ttl_seconds=approval_ttl_seconds,
                verify_poll_seconds=1,
            ),
            roleArn=role,
        )["stateMachineArn"]
        settings = settings.model_copy(
            update={"state_machine_arn": machine, "slack_api_url": slack_api_url}
        )
        runtime.install(
            settings=settings, services=services, stepfunctions=sfn, slack_secrets=slack_secrets
        )
        plane.handlers.update(
            {
                "healer-ingest": ingest.handler,
                "healer-analyse": steps.handler,
                "healer-remediate": steps.handler,
            }
        )
        try:
            yield Deployment(plane, sandbox, services, store, machine)
        finally:  # moto's executions outlive a test: stop them before the next one
            for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
                if execution["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=execution["executionArn"])
            runtime.install()


@pytest.fixture
def surge(control_plane: ControlPlane) -> Iterator[Deployment]:
    """A traffic surge whose scale-out costs $46.08: it needs a human's approval."""
    yield from deploy(control_plane, "dev-traffic-surge-api")


def start(deployment: Deployment) -> tuple[str, str]:
    """Deliver the case's alarm; the incident id and its execution's ARN."""
    (_, event), *_ = deployment.sandbox.case_events()
    result = deployment.deliver(event)
    assert result["status"] == "opened"
    incident_id = result["incident_id"]
    assert result["execution"] == deployment.execution_arn(incident_id, result["dedup_key"])
    return incident_id, result["execution"]


def waiting_approval(deployment: Deployment, incident_id: str) -> str:
    """The id of the incident's approval once the workflow waits on it (its token stored)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        incident = deployment.store.get(incident_id)
        if incident and incident.approval_id and deployment.store.task_token(incident.approval_id):
            return incident.approval_id
        time.sleep(0.1)
    raise AssertionError("the workflow never waited for an approval")


def decide(approval_id: str, decision: str, user: str = APPROVER) -> dict[str, Any]:
    event = {"approval_id": approval_id, "decision": decision, "user": user}
    result: dict[str, Any] = approval.handler(event, LambdaContext("healer-approval"))
    return result


def kinds(deployment: Deployment, incident_id: str) -> list[str]:
    return [e.kind for e in deployment.store.events(incident_id)]


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
