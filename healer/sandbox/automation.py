"""A stand-in for SSM Automation, which moto does not implement.

It performs what the AWS-owned runbooks `AWS-RestartEC2Instance` and `AWS-ResizeInstance` do,
through the (moto) EC2 API, synchronously.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from healer.errors import ToolInputError

AutomationStatus = Literal["Success", "Failed"]


@dataclass
class AutomationExecution:
    """One finished automation execution."""

    execution_id: str
    document_name: str
    parameters: dict[str, list[str]]
    status: AutomationStatus
    failure_message: str = ""
    steps: list[str] = field(default_factory=list)


class SandboxAutomation:
    """Runs the supported Automation documents against an EC2 client.

    Args:
        ec2: A boto3 EC2 client (bound to the sandbox).
        on_start: Told of every start request (document, parameters) before it runs.
    """

    DOCUMENTS = ("AWS-RestartEC2Instance", "AWS-ResizeInstance")

    def __init__(
        self, ec2: Any, on_start: Callable[[str, dict[str, list[str]]], None] | None = None
    ) -> None:
        self._ec2 = ec2
        self._on_start = on_start
        self._executions: dict[str, AutomationExecution] = {}
        self._tokens: dict[str, str] = {}
        self._runners: dict[str, Callable[[dict[str, list[str]], list[str]], None]] = {
            "AWS-RestartEC2Instance": self._restart,
            "AWS-ResizeInstance": self._resize,
        }

    def start(
        self, document_name: str, parameters: dict[str, Any], client_token: str | None = None
    ) -> str:
        """Run a document to completion and return its execution id.

        Args:
            document_name: `AWS-RestartEC2Instance` (InstanceId) or `AWS-ResizeInstance`
                (InstanceId, InstanceType).
            parameters: SSM-style parameters; values are lists of strings or strings.
            client_token: As on AWS, a start repeated with the same token starts nothing and
                returns the first execution's id.

        Raises:
            ToolInputError: Unknown document or missing parameter.
        """
        if client_token is not None and client_token in self._tokens:
            return self._tokens[client_token]  # as on AWS: the same token starts nothing new
        normalised = {
            key: [str(v) for v in value] if isinstance(value, list) else [str(value)]
            for key, value in parameters.items()
        }
        if self._on_start is not None:
            self._on_start(document_name, normalised)
        runner = self._runners.get(document_name)
        if runner is None:
            raise ToolInputError(
                f"document_name: {document_name!r} is not one of {', '.join(self.DOCUMENTS)}"
            )
        execution = AutomationExecution(
            execution_id=str(uuid.uuid4()),
            document_name=document_name,
            parameters=normalised,
            status="Success",
        )
        try:
            runner(normalised, execution.steps)
        except ClientError as exc:
            execution.status = "Failed"
            execution.failure_message = str(exc)
        self._executions[execution.execution_id] = execution
        if client_token is not None:
            self._tokens[client_token] = execution.execution_id
        return execution.execution_id

    def status(self, execution_id: str) -> AutomationStatus:
        """`Success` or `Failed`; raises ToolInputError for an unknown execution id."""
        return self.execution(execution_id).status

    def execution(self, execution_id: str) -> AutomationExecution:
        """The record of one execution; raises ToolInputError for an unknown id."""
        try:
            return self._executions[execution_id]
        except KeyError:
            raise ToolInputError(f"execution_id: no execution {execution_id!r}") from None

    def _restart(self, parameters: dict[str, list[str]], steps: list[str]) -> None:
        instance_ids = _required(parameters, "InstanceId")
        self._ec2.stop_instances(InstanceIds=instance_ids)
        steps.append(f"stopped {', '.join(instance_ids)}")
        self._ec2.start_instances(InstanceIds=instance_ids)
        steps.append(f"started {', '.join(instance_ids)}")

    def _resize(self, parameters: dict[str, list[str]], steps: list[str]) -> None:
        instance_id = _required(parameters, "InstanceId")[0]
        instance_type = _required(parameters, "InstanceType")[0]
        self._ec2.stop_instances(InstanceIds=[instance_id])
        steps.append(f"stopped {instance_id}")
        self._ec2.modify_instance_attribute(
            InstanceId=instance_id, InstanceType={"Value": instance_type}
        )
        steps.append(f"set {instance_id} type to {instance_type}")
        self._ec2.start_instances(InstanceIds=[instance_id])
        steps.append(f"started {instance_id}")


def _required(parameters: dict[str, list[str]], name: str) -> list[str]:
    values = parameters.get(name)
    if not values:
        raise ToolInputError(f"parameters.{name}: required")
    return values
