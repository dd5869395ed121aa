"""The executor: runs exactly one approved catalog action, exactly once.

It is the second enforcement of the guardrail. It refuses to act without an approval (automatic
or human) of this exact action, unexpired and not yet used; just before acting it re-runs the
policy on fresh facts and refuses when the plan changed or the decision became stricter.
Executions of one incident are serialised by a store lock; consuming the approval and recording
the intent are one transaction; a resumed run observes the side effect it may already have
caused (by its recorded id, or by a deterministic marker sent with the call) before it would
ever send again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from healer.catalog import Catalog
from healer.domain import (
    ActionId,
    ActionProposal,
    Approval,
    ApprovalStatus,
    Decision,
    ExecutorKind,
    GovernanceDecision,
)
from healer.errors import ActionRejected, ApprovalRequired, ToolInputError, ToolUnavailable
from tools.autoscaling_actions import (
    InstanceRefresh,
    apply_intent,
    intent_of,
    start_instance_refresh,
)
from tools.aws import AwsClients
from tools.polling import Outcome, wait_for

SSM_PARAMETER_NAMES = {
    "service": "ServiceName",
    "paths": "Paths",
    "older_than_days": "OlderThanDays",
}
LOCK_LEASE = timedelta(seconds=60)
"""How long an execution lock holds without renewal; the holder renews it at every poll. A
crashed holder's lock lapses, and the next run then observes instead of resending."""
LOCK_WAIT_SECONDS = LOCK_LEASE.total_seconds() + 5


class AutomationRunner(Protocol):
    """SSM Automation: start a runbook (idempotently, by client token) and read its status."""

    def start(
        self, document_name: str, parameters: dict[str, list[str]], client_token: str
    ) -> str: ...

    def status(self, execution_id: str) -> str: ...


class SsmAutomationRunner:
    """SSM Automation on AWS."""

    def __init__(self, ssm: Any) -> None:
        self._ssm = ssm

    def start(self, document_name: str, parameters: dict[str, list[str]], client_token: str) -> str:
        try:
            response = self._ssm.start_automation_execution(
                DocumentName=document_name, Parameters=parameters, ClientToken=client_token
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
Recheck = Callable[[ActionProposal], GovernanceDecision]
"""The policy re-run on facts read now, for the exact proposal about to run."""
Blocked = Callable[[str, dict[str, Any]], None]
"""Told of every refused attempt (reason, what was attempted): the audit records it."""
EXECUTOR_ACTOR = "agent:remediator"
_HUMAN_MAY_RUN = {Decision.AUTO_HEAL, Decision.NEEDS_APPROVAL}


class Executor:
    """Runs approved catalog actions through SSM Run Command, SSM Automation or Auto Scaling."""

    def __init__(
        self,
        clients: AwsClients,
        catalog: Catalog,
        store: Any,
        automation: AutomationRunner,
        clock: Callable[[], datetime],
        *,
        recheck: Recheck | None = None,
        on_blocked: Blocked | None = None,
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
        self._recheck = recheck
        self._on_blocked = on_blocked
        self._observers = observers or []
        self._refresh = instance_refresh
        self._poll = poll_seconds
        self._timeout = timeout_seconds

    def execute(self, incident_id: str, proposal: ActionProposal) -> ExecutionResult:
        """Run the proposal if, and only if, it is the incident's approved plan; once."""
        try:
            exact = self._exact(proposal)
            approval = bound_approval(self._store.for_incident(incident_id), exact)
        except (ToolInputError, ApprovalRequired, ActionRejected) as exc:
            self._blocked(str(exc), proposal)
            raise
        lock, owner = f"incident:{incident_id}", uuid.uuid4().hex

        def renew() -> bool:
            return bool(self._store.acquire_lock(lock, owner, LOCK_LEASE, self._clock()))

        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not renew():
            if time.monotonic() > deadline:
                self._blocked("another execution of this incident is in progress", exact)
                raise ActionRejected("another execution of this incident is in progress")
            time.sleep(0.05)
        try:
            return self._execute_locked(incident_id, exact, approval, renew)
        finally:
            self._store.release_lock(lock, owner)

    def _exact(self, proposal: ActionProposal) -> ActionProposal:
        spec = self._catalog.get(proposal.action)
        if spec is None:
            raise ActionRejected(f"{proposal.action} is not a catalog action")
        try:
            params = spec.validate_params(proposal.params)
        except ValueError as exc:
            raise ToolInputError(str(exc)) from exc
        return proposal.model_copy(update={"params": params})

    def _execute_locked(
        self,
        incident_id: str,
        exact: ActionProposal,
        approval: Approval,
        renew: Callable[[], bool],
    ) -> ExecutionResult:
        digest = approval.plan_hash
        record = self._store.get_execution(incident_id, digest)
        if record is None:
            try:
                check_approval(self._store.get_approval(approval.id), exact, self._clock())
                self._check_fresh(exact, approval)
                record = self._store.consume_and_begin(
                    approval.id,
                    incident_id,
                    digest,
                    exact.action.value,
                    exact.target,
                    exact.params,
                    self._clock(),
                    EXECUTOR_ACTOR,
                )
            except (ApprovalRequired, ActionRejected) as exc:
                self._blocked(str(exc), exact)
                raise
        elif record.status != "started":
            return ExecutionResult(
                action=exact.action,
                target=exact.target,
                params=exact.params,
                status=record.status,
                external_id=record.external_id,
                detail="already executed; not repeated",
                resumed=True,
            )
        resumed = record.attempts > 1 or record.external_id is not None
        marker = f"healer {incident_id} {digest[:16]}"
        outcome = self._run(incident_id, digest, exact, record.external_id, marker, renew)
        effects: list[str] = []
        if outcome.succeeded:
            for observer in self._observers:
                effects += observer(exact.action.value, exact.target, exact.params)
        self._store.complete(
            incident_id,
            digest,
            "succeeded" if outcome.succeeded else "failed",
            {"detail": outcome.detail, "external_id": outcome.external_id},
        )
        return ExecutionResult(
            action=exact.action,
            target=exact.target,
            params=exact.params,
            status="succeeded" if outcome.succeeded else "failed",
            external_id=outcome.external_id,
            detail=outcome.detail,
            effects=effects,
            resumed=resumed,
        )

    def _check_fresh(self, exact: ActionProposal, approval: Approval) -> None:
        """Refuse when the plan's facts, cost or document changed, or the policy got stricter."""
        if self._recheck is None:
            return
        fresh = self._recheck(exact)
        if fresh.plan_hash != approval.plan_hash:
            raise ActionRejected(
                "the plan changed since it was decided (target facts, cost or SSM document); "
                f"it must be decided again: {'; '.join(fresh.reasons)}"
            )
        if fresh.shadow:
            raise ActionRejected("the action runs in shadow mode: nothing is executed")
        allowed = {Decision.AUTO_HEAL} if approval.automatic else _HUMAN_MAY_RUN
        if fresh.decision not in allowed:
            why = "; ".join(fresh.reasons)
            raise ActionRejected(f"the policy now decides {fresh.decision} on fresh facts: {why}")

    def _blocked(self, reason: str, proposal: ActionProposal) -> None:
        if self._on_blocked is not None:
            self._on_blocked(reason, proposal.model_dump(mode="json"))

    def _run(
        self,
        incident_id: str,
        digest: str,
        proposal: ActionProposal,
        external_id: str | None,
        marker: str,
        renew: Callable[[], bool],
    ) -> Outcome:
        """Cause the side effect unless it already happened, then wait for it (renewing the
        lock at every poll)."""
        spec = self._catalog[proposal.action]
        if spec.executor == ExecutorKind.SSM_COMMAND:
            assert spec.document is not None
            if external_id is None:
                external_id = self._find_command(marker, proposal.target) or self._send_command(
                    spec.document, proposal, marker
                )
                self._store.set_external_id(incident_id, digest, external_id)
            return self._wait_command(external_id, proposal.target, renew)
        if spec.executor == ExecutorKind.SSM_AUTOMATION:
            assert spec.document is not None
            if external_id is None:
                token = str(uuid.uuid5(uuid.NAMESPACE_URL, marker))
                external_id = self._automation.start(
                    spec.document, _automation_params(proposal), token
                )
                self._store.set_external_id(incident_id, digest, external_id)
            execution_id = external_id

            def automation_status() -> str:
                renew()
                return self._automation.status(execution_id)

            return wait_for(
                automation_status,
                "Automation",
                execution_id,
                self._poll,
                self._timeout,
            )
        if external_id is None:
            external_id = intent_of(self._aws.autoscaling, proposal)
            self._store.set_external_id(incident_id, digest, external_id)
        status, detail = apply_intent(self._aws.autoscaling, proposal, external_id, self._refresh)
        return Outcome(succeeded=status == "succeeded", external_id=external_id, detail=detail)

    def _find_command(self, marker: str, instance_id: str) -> str | None:
        """A command this execution already sent (found by its marker), or None."""
        try:
            pages = self._aws.ssm.get_paginator("list_commands").paginate(InstanceId=instance_id)
            for page in pages:
                for command in page.get("Commands", []):
                    if command.get("Comment") == marker:
                        return str(command["CommandId"])
        except (ClientError, BotoCoreError) as exc:
            raise ToolUnavailable(f"list_commands failed: {exc}") from exc
        return None

    def _send_command(self, document: str, proposal: ActionProposal, marker: str) -> str:
        parameters = {
            SSM_PARAMETER_NAMES[name]: [" ".join(value) if isinstance(value, list) else str(value)]
            for name, value in proposal.params.items()
        }
        try:
            response = self._aws.ssm.send_command(
                DocumentName=document,
                InstanceIds=[proposal.target],
                Parameters=parameters,
                Comment=marker,
            )
        except (ClientError, BotoCoreError) as exc:
            raise ToolUnavailable(f"send_command {document} failed: {exc}") from exc
        return str(response["Command"]["CommandId"])

    def _wait_command(
        self, command_id: str, instance_id: str, renew: Callable[[], bool]
    ) -> Outcome:
        def status() -> str | None:
            renew()
            try:
                invocation = self._aws.ssm.get_command_invocation(
                    CommandId=command_id, InstanceId=instance_id
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "InvocationDoesNotExist":
                    return None  # AWS has not registered the invocation yet
                raise ToolUnavailable(f"get_command_invocation failed: {exc}") from exc
            except BotoCoreError as exc:
                raise ToolUnavailable(f"get_command_invocation failed: {exc}") from exc
            return str(invocation.get("StatusDetails") or invocation["Status"])

        return wait_for(status, "command", command_id, self._poll, self._timeout)


def bound_approval(approval: Approval | None, exact: ActionProposal) -> Approval:
    """The incident's approval, if it is bound to exactly this action, target and parameters."""
    if approval is None:
        raise ApprovalRequired("no approval exists for this incident")
    if approval.plan != exact:
        raise ActionRejected(
            "the approval is bound to a different plan: "
            f"{approval.plan.model_dump(mode='json') if approval.plan else 'nothing'}"
        )
    return approval


def check_approval(approval: Approval | None, exact: ActionProposal, now: datetime) -> Approval:
    """The approval must exist, be bound to this exact plan, be APPROVED and unexpired."""
    approval = bound_approval(approval, exact)
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
