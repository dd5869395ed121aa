"""The executor: runs exactly one approved catalog action, once.

It is the second enforcement of the guardrail: it refuses to act without an approval (automatic
or human) bound to the hash of the exact plan, unexpired and not yet used; and it records its
intent before the side effect, so a crash and a resume never repeat it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from healer.catalog import Catalog
from healer.domain import (
    ActionId,
    ActionProposal,
    Approval,
    ApprovalStatus,
    ExecutorKind,
    plan_hash,
)
from healer.errors import ActionRejected, ApprovalRequired, ToolInputError, ToolUnavailable
from tools.autoscaling_actions import (
    InstanceRefresh,
    apply_intent,
    intent_of,
    start_instance_refresh,
)
from tools.aws import AwsClients

TERMINAL_STATES = {"Success", "Failed", "Cancelled", "TimedOut", "Cancelling"}
SSM_PARAMETER_NAMES = {
    "service": "ServiceName",
    "paths": "Paths",
    "older_than_days": "OlderThanDays",
}


class AutomationRunner(Protocol):
    """SSM Automation: start a runbook and read its status."""

    def start(self, document_name: str, parameters: dict[str, list[str]]) -> str: ...

    def status(self, execution_id: str) -> str: ...


class SsmAutomationRunner:
    """SSM Automation on AWS."""

    def __init__(self, ssm: Any) -> None:
        self._ssm = ssm

    def start(self, document_name: str, parameters: dict[str, list[str]]) -> str:
        try:
            response = self._ssm.start_automation_execution(
                DocumentName=document_name, Parameters=parameters
            )
        except (ClientError, BotoCoreError) as exc:
            raise ToolUnavailable(f"start_automation_execution failed: {exc}") from exc
        return str(response["AutomationExecutionId"])

    def status(self, execution_id: str) -> str:
        try:
            execution = self._ssm.get_automation_execution(AutomationExecutionId=execution_id)
        except (ClientError, BotoCoreError) as exc:
            raise ToolUnavailable(f"get_automation_execution failed: {exc}") from exc
        return str(execution["AutomationExecution"]["AutomationExecutionStatus"])


class ExecutionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: ActionId
    target: str
    params: dict[str, Any]
    status: str
    external_id: str | None = None
    detail: str = ""
    effects: list[str] = []
    resumed: bool = False


Observer = Callable[[str, str, dict[str, Any]], list[str]]


class Executor:
    """Runs approved catalog actions through SSM Run Command, SSM Automation or Auto Scaling."""

    def __init__(
        self,
        clients: AwsClients,
        catalog: Catalog,
        store: Any,
        automation: AutomationRunner,
        clock: Callable[[], datetime],
        observers: list[Observer] | None = None,
        instance_refresh: InstanceRefresh = start_instance_refresh,
        poll_seconds: float = 2.0,
        timeout_seconds: float = 600.0,
    ) -> None:
        self._aws = clients
        self._catalog = catalog
        self._store = store
        self._automation = automation
        self._clock = clock
        self._observers = observers or []
        self._refresh = instance_refresh
        self._poll = poll_seconds
        self._timeout = timeout_seconds

    def execute(self, incident_id: str, proposal: ActionProposal) -> ExecutionResult:
        """Run the proposal if, and only if, a valid approval is bound to its exact hash."""
        spec = self._catalog.get(proposal.action)
        if spec is None:
            raise ActionRejected(f"{proposal.action} is not a catalog action")
        try:
            params = spec.validate_params(proposal.params)
        except ValueError as exc:
            raise ToolInputError(str(exc)) from exc
        exact = proposal.model_copy(update={"params": params})
        digest = plan_hash(exact)
        record = self._store.get_execution(incident_id, digest)
        approval = self._store.for_incident(incident_id)
        if record is None:
            check_approval(approval, digest, self._clock())
            record = self._store.begin(
                incident_id, digest, exact.action.value, exact.target, params
            )
        elif record.status != "started":
            return ExecutionResult(
                action=exact.action,
                target=exact.target,
                params=params,
                status=record.status,
                external_id=record.external_id,
                detail="already executed; not repeated",
                resumed=True,
            )
        if approval is not None and approval.status == ApprovalStatus.APPROVED:
            self._store.transition(
                approval.id, ApprovalStatus.APPROVED, ApprovalStatus.CONSUMED, None, self._clock()
            )
        status, external_id, detail = self._run(incident_id, digest, exact, record.external_id)
        effects: list[str] = []
        if status == "succeeded":
            for observer in self._observers:
                effects += observer(exact.action.value, exact.target, params)
        self._store.complete(
            incident_id, digest, status, {"detail": detail, "external_id": external_id}
        )
        return ExecutionResult(
            action=exact.action,
            target=exact.target,
            params=params,
            status=status,
            external_id=external_id,
            detail=detail,
            effects=effects,
            resumed=record.external_id is not None,
        )

    def _run(
        self, incident_id: str, digest: str, proposal: ActionProposal, external_id: str | None
    ) -> tuple[str, str | None, str]:
        spec = self._catalog[proposal.action]
        if spec.executor == ExecutorKind.SSM_COMMAND:
            assert spec.document is not None
            if external_id is None:
                external_id = self._send_command(spec.document, proposal)
                self._store.set_external_id(incident_id, digest, external_id)
            return self._wait_command(external_id, proposal.target)
        if spec.executor == ExecutorKind.SSM_AUTOMATION:
            assert spec.document is not None
            if external_id is None:
                external_id = self._automation.start(spec.document, _automation_params(proposal))
                self._store.set_external_id(incident_id, digest, external_id)
            return self._wait_automation(external_id)
        if external_id is None:
            external_id = intent_of(self._aws.autoscaling, proposal)
            self._store.set_external_id(incident_id, digest, external_id)
        status, detail = apply_intent(self._aws.autoscaling, proposal, external_id, self._refresh)
        return status, external_id, detail

    def _send_command(self, document: str, proposal: ActionProposal) -> str:
        parameters = {
            SSM_PARAMETER_NAMES[name]: [" ".join(value) if isinstance(value, list) else str(value)]
            for name, value in proposal.params.items()
        }
        try:
            response = self._aws.ssm.send_command(
                DocumentName=document,
                InstanceIds=[proposal.target],
                Parameters=parameters,
                Comment=f"incident-healer {proposal.action}",
            )
        except (ClientError, BotoCoreError) as exc:
            raise ToolUnavailable(f"send_command {document} failed: {exc}") from exc
        return str(response["Command"]["CommandId"])

    def _command_status(self, command_id: str, instance_id: str) -> str:
        try:
            invocation = self._aws.ssm.get_command_invocation(
                CommandId=command_id, InstanceId=instance_id
            )
        except (ClientError, BotoCoreError) as exc:
            raise ToolUnavailable(f"get_command_invocation failed: {exc}") from exc
        return str(invocation["Status"])

    def _wait_command(self, command_id: str, instance_id: str) -> tuple[str, str, str]:
        state = self._wait(lambda: self._command_status(command_id, instance_id))
        return _outcome(state), command_id, f"SSM command {state}"

    def _wait_automation(self, execution_id: str) -> tuple[str, str, str]:
        state = self._wait(lambda: self._automation.status(execution_id))
        return _outcome(state), execution_id, f"SSM Automation {state}"

    def _wait(self, status: Callable[[], str]) -> str:
        """Poll until a terminal state or the timeout; returns the last state seen."""
        deadline = time.monotonic() + self._timeout
        while True:
            state = status()
            if state in TERMINAL_STATES or time.monotonic() > deadline:
                return state
            time.sleep(self._poll)


def _outcome(state: str) -> str:
    return "succeeded" if state == "Success" else "failed"


def check_approval(approval: Approval | None, digest: str, now: datetime) -> Approval:
    """The approval must exist, be APPROVED, match the plan's hash and be unexpired."""
    if approval is None:
        raise ApprovalRequired("no approval exists for this incident")
    if approval.plan_hash != digest:
        raise ActionRejected("the approval is bound to a different plan (hash mismatch)")
    if approval.status != ApprovalStatus.APPROVED:
        raise ActionRejected(f"the approval is {approval.status}, not APPROVED")
    if now >= approval.expires_at:
        raise ActionRejected(f"the approval expired at {approval.expires_at.isoformat()}")
    return approval


def _automation_params(proposal: ActionProposal) -> dict[str, list[str]]:
    params = {"InstanceId": [proposal.target]}
    if proposal.action == ActionId.RESIZE_INSTANCE:
        params["InstanceType"] = [proposal.params["instance_type"]]
    return params
