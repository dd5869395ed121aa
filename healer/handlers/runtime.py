"""What the Lambda handlers share, built once per container: settings, services, the Step
Functions client and Powertools (logging, tracing, metrics, idempotency)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from botocore.exceptions import ClientError

from healer.aws_services import aws_services
from healer.config import HealerSettings, load_settings
from healer.domain import Incident
from healer.errors import ConfigError
from healer.store import DynamoStore
from healer.workflow.services import Services

logger = Logger()
tracer = Tracer()
metrics = Metrics()

T = TypeVar("T")

TASK_GONE = ("TaskDoesNotExist", "TaskTimedOut", "InvalidToken")
"""SendTaskSuccess errors that mean the wait already ended (decided twice, or timed out)."""


class Runtime:
    """The container's settings, services and clients, built on first use; tests and
    `healer run --aws` install their own."""

    def __init__(self) -> None:
        self._settings: HealerSettings | None = None
        self._services: Services | None = None
        self._stepfunctions: Any = None
        self._idempotent: dict[str, Callable[..., Any]] = {}
        self._configs: dict[str, Any] = {}
        self._slack: dict[str, str] | None = None

    def install(
        self,
        settings: HealerSettings | None = None,
        services: Services | None = None,
        stepfunctions: Any = None,
        slack_secrets: dict[str, str] | None = None,
    ) -> None:
        self._settings, self._services, self._stepfunctions = settings, services, stepfunctions
        self._idempotent, self._configs, self._slack = {}, {}, slack_secrets

    def settings(self) -> HealerSettings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def services(self) -> Services:
        if self._services is None:
            self._services = aws_services(self.settings())
        return self._services

    def stepfunctions(self) -> Any:
        if self._stepfunctions is None:
            self._stepfunctions = boto3.client("stepfunctions", region_name=self.settings().region)
        return self._stepfunctions

    def slack_secrets(self) -> dict[str, str]:
        """The Slack app's secrets (`slack_secret_arn`): signing_secret, bot_token, app_token."""
        if self._slack is None:
            arn = self.settings().slack_secret_arn
            if arn is None:
                raise ConfigError("Slack needs HEALER_SLACK_SECRET_ARN")
            client = boto3.client("secretsmanager", region_name=self.settings().region)
            self._slack = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        return self._slack

    def once(
        self, name: str, call: Callable[[dict[str, Any]], T], key: str, context: Any
    ) -> Callable[..., T]:
        """`call` made idempotent on the JMESPath `key` of its event with Powertools'
        DynamoDB persistence (`idempotency_table`); unchanged when none is configured. The
        Lambda context bounds an in-progress record by the invocation's remaining time, so a
        crashed invocation does not block the retries of its event."""
        table = self.settings().idempotency_table
        if table is None:
            return call
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        if name not in self._idempotent:
            config = IdempotencyConfig(event_key_jmespath=key, expires_after_seconds=3600)
            self._idempotent[name] = idempotent_function(
                call,
                data_keyword_argument="event",
                persistence_store=DynamoDBPersistenceLayer(table_name=table),
                config=config,
            )
            self._configs[name] = config
        self._configs[name].register_lambda_context(context)
        return self._idempotent[name]


runtime = Runtime()


def deployment_store(services: Services) -> DynamoStore:
    """The deployment's store: the task tokens the workflow waits with live only there."""
    if not isinstance(services.store, DynamoStore):
        raise ConfigError("the AWS handlers need the DynamoDB store (HEALER_STORE_BACKEND)")
    return services.store


def execution_name(incident_id: str, dedup_key: str) -> str:
    """The workflow execution of the incident the event `dedup_key` opened: the same name for
    every delivery of that event, so Step Functions starts it once."""
    return f"{incident_id}-{hashlib.sha256(dedup_key.encode()).hexdigest()[:16]}"[:80]


def start_workflow(services: Services, incident: Incident, name: str) -> str:
    """Start the incident's workflow at its current step, as the execution `name`; its ARN.

    The incident first records `name` as the execution that owns it: the steps of any other
    execution of it (an older one, a duplicate start) stop, so two never drive one incident.
    Step Functions starts one execution per name: asked again, it answers with the running
    one (or refuses once it has ended, and that ARN is returned too).

    Raises:
        ConcurrentUpdate: the incident changed since it was read (read it again).
    """
    machine = runtime.settings().state_machine_arn
    if machine is None:
        raise ConfigError("starting a workflow needs HEALER_STATE_MACHINE_ARN")
    if incident.runtime.get("execution") != name:
        incident.runtime = {**incident.runtime, "execution": name}
        services.store.save(incident)
    try:
        started = runtime.stepfunctions().start_execution(
            stateMachineArn=machine,
            name=name,
            input=json.dumps({"incident_id": incident.id, "step": incident.step.value}),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        return f"{machine.replace(':stateMachine:', ':execution:')}:{name}"
    return str(started["executionArn"])


def resume_workflow(services: Services, incident: Incident) -> bool:
    """Hand a decided approval back to the workflow waiting for it (its task token stays in
    the store). False when no workflow waits (not yet, or no longer)."""
    token = (
        deployment_store(services).task_token(incident.approval_id)
        if incident.approval_id
        else None
    )
    if token is None:
        return False
    try:
        runtime.stepfunctions().send_task_success(
            taskToken=token,
            output=json.dumps({"incident_id": incident.id, "step": incident.step.value}),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] in TASK_GONE:
            return False
        raise
    return True
