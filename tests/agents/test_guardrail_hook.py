"""The guardrail hook on the real remediator tools, driven through the real agent loop.

A scripted model plays a remediator that tries to run actions it was not approved for; the hook
must cancel each attempt before the executor runs, and tell the model why.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.clock import NOW, FakeClock
from fakes.scripted_model import ScriptedModel, Text, ToolCall
from strands import Agent

from agents.guardrail_hook import GuardrailHook
from agents.prompts import REMEDIATOR
from healer.cases import load_case
from healer.catalog import default_catalog
from healer.domain import ActionId, ActionProposal, Approval, ApprovalStatus, plan_hash
from healer.sandbox import Sandbox
from healer.store import SqliteStore
from knowledge_base.retriever import RunbookHit
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.fence import unfence
from tools.pricing import TablePriceSource
from tools.remediation import Executor
from tools.remediation_tools import EXECUTE_ACTION, remediation_tools

CASE = Path(__file__).resolve().parents[2] / "evals" / "cases" / "dev-disk-full-web.yaml"
WEB_1, WEB_2 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"

CLEAR_WEB_1 = ActionProposal(action=ActionId.CLEAR_DISK_SPACE, target=WEB_1)


class NoRunbooks:
    """A retriever with nothing in it; the remediator never searches runbooks."""

    def search(
        self, query: str, k: int = 5, filters: dict[str, str] | None = None
    ) -> list[RunbookHit]:
        return []


class RecordingAutomation:
    """The sandbox's SSM Automation, remembering every document it was asked to start."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.started: list[tuple[str, dict[str, list[str]]]] = []

    def start(self, document_name: str, parameters: dict[str, list[str]], client_token: str) -> str:
        self.started.append((document_name, parameters))
        return str(self._inner.start(document_name, parameters, client_token))

    def status(self, execution_id: str) -> str:
        return str(self._inner.status(execution_id))


@dataclass
class Remediation:
    """One incident's remediator: its store, hook, side-effect recorders and how to run it."""

    incident_id: str
    store: SqliteStore
    clock: FakeClock
    ctx: ToolContext
    automation: RecordingAutomation
    send_commands: list[dict[str, Any]]
    hooks: list[GuardrailHook] = field(default_factory=list)

    def run(self, *turns: ToolCall | Text) -> ScriptedModel:
        """Run the remediator agent on a scripted model; returns the model to inspect."""
        model = ScriptedModel(turns)
        hook = GuardrailHook(
            self.incident_id, self.ctx.catalog, self.store.for_incident, self.clock
        )
        self.hooks.append(hook)
        agent = Agent(
            model=model,
            system_prompt=REMEDIATOR,
            tools=remediation_tools(self.ctx),
            hooks=[hook],
            callback_handler=None,
        )
        result = agent("Run this approved action.")
        assert result.stop_reason == "end_turn"
        return model

    def grant(
        self,
        proposal: ActionProposal,
        status: ApprovalStatus = ApprovalStatus.APPROVED,
        expires_at: datetime = NOW + timedelta(minutes=30),
    ) -> Approval:
        approval = Approval(
            id=f"apr-{uuid.uuid4().hex[:8]}",
            incident_id=self.incident_id,
            plan_hash=digest_of(proposal),
            plan=exact(proposal),
            status=status,
            automatic=status == ApprovalStatus.APPROVED,
            requested_at=NOW - timedelta(minutes=1),
            expires_at=expires_at,
            decided_by="guardrail" if status == ApprovalStatus.APPROVED else None,
        )
        self.store.create(approval)
        return approval

    @property
    def cancelled(self) -> list[str]:
        return [reason for hook in self.hooks for reason in hook.cancelled]

    def nothing_ran(self, proposal: ActionProposal) -> None:
        assert self.store.get_execution(self.incident_id, digest_of(proposal)) is None
        assert self.send_commands == []
        assert self.automation.started == []


def exact(proposal: ActionProposal) -> ActionProposal:
    """The proposal with its parameters' defaults filled, as an approval binds it."""
    spec = default_catalog()[proposal.action]
    return proposal.model_copy(update={"params": spec.validate_params(proposal.params)})


def digest_of(proposal: ActionProposal) -> str:
    """The hash the policy binds an approval to: parameters with their defaults filled."""
    spec = default_catalog()[proposal.action]
    return plan_hash(proposal.model_copy(update={"params": spec.validate_params(proposal.params)}))


def execute(proposal: ActionProposal) -> ToolCall:
    """The model's call of `execute_action` for a proposal."""
    return ToolCall(
        EXECUTE_ACTION,
        {"action": proposal.action.value, "target": proposal.target, "params": proposal.params},
    )


def assert_refused_by_guardrail(tool_result: dict[str, Any]) -> str:
    text = " ".join(block.get("text", "") for block in tool_result["content"])
    assert tool_result["status"] == "error"
    assert "Refused by the guardrail" in text
    return text


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(load_case(CASE)) as running:
        yield running


@pytest.fixture
def remediation(sandbox: Sandbox) -> Iterator[Remediation]:
    clock = FakeClock()
    incident_id = f"inc-{uuid.uuid4().hex[:8]}"
    automation = RecordingAutomation(sandbox.automation)
    send_commands: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        send_commands.append(dict(params))

    events = sandbox.client("ssm").meta.events
    events.register("provide-client-params.ssm.SendCommand", record)
    with SqliteStore(":memory:", clock=clock) as store:
        aws = AwsClients.from_factory(sandbox, sandbox.region)
        catalog = default_catalog()
        ctx = ToolContext(
            incident_id=incident_id,
            aws=aws,
            catalog=catalog,
            retriever=NoRunbooks(),
            runbooks={},
            prices=TablePriceSource(sandbox.prices),
            executor=Executor(
                aws, catalog, store, automation, clock, poll_seconds=0, timeout_seconds=10
            ),
            clock=clock,
        )
        yield Remediation(incident_id, store, clock, ctx, automation, send_commands)
    events.unregister("provide-client-params.ssm.SendCommand", record)


# --------------------------------------------------------------------------- refusals


def test_without_any_approval_the_hook_cancels_the_call(remediation: Remediation) -> None:
    model = remediation.run(execute(CLEAR_WEB_1), Text("The action was refused."))

    [result] = model.tool_results()
    assert "no approval exists" in assert_refused_by_guardrail(result)
    assert len(remediation.cancelled) == 1
    remediation.nothing_ran(CLEAR_WEB_1)


@pytest.mark.parametrize(
    "approved",
    [
        ActionProposal(action=ActionId.CLEAR_DISK_SPACE, target=WEB_2),
        ActionProposal(
            action=ActionId.CLEAR_DISK_SPACE,
            target=WEB_1,
            params={"paths": ["/var/log/app", "/tmp"]},
        ),
        ActionProposal(
            action=ActionId.CLEAR_DISK_SPACE, target=WEB_1, params={"older_than_days": 7}
        ),
    ],
    ids=["other target", "other paths", "other age"],
)
def test_an_approval_for_another_plan_does_not_cover_this_one(
    remediation: Remediation, approved: ActionProposal
) -> None:
    approval = remediation.grant(approved)

    model = remediation.run(execute(CLEAR_WEB_1), Text("Refused."))

    [result] = model.tool_results()
    assert "different plan" in assert_refused_by_guardrail(result)
    remediation.nothing_ran(CLEAR_WEB_1)
    stored = remediation.store.get_approval(approval.id)
    assert stored is not None and stored.status == ApprovalStatus.APPROVED  # not used up


@pytest.mark.parametrize(
    "status", [ApprovalStatus.PENDING, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED]
)
def test_an_approval_that_is_not_approved_does_not_count(
    remediation: Remediation, status: ApprovalStatus
) -> None:
    remediation.grant(CLEAR_WEB_1, status=status)

    model = remediation.run(execute(CLEAR_WEB_1), Text("Still waiting for approval."))

    [result] = model.tool_results()
    assert f"{status.value}, not APPROVED" in assert_refused_by_guardrail(result)
    remediation.nothing_ran(CLEAR_WEB_1)


def test_an_approved_plan_past_its_expiry_is_cancelled(remediation: Remediation) -> None:
    remediation.grant(CLEAR_WEB_1, expires_at=NOW + timedelta(minutes=30))
    remediation.clock.now = NOW + timedelta(minutes=31)

    model = remediation.run(execute(CLEAR_WEB_1), Text("The approval expired."))

    [result] = model.tool_results()
    assert "expired" in assert_refused_by_guardrail(result)
    remediation.nothing_ran(CLEAR_WEB_1)


def test_a_remediator_told_by_a_log_line_to_restart_the_instance_is_stopped(
    remediation: Remediation,
) -> None:
    """Prompt injection: the approval is for clearing the disk; the model goes for a restart."""
    remediation.grant(CLEAR_WEB_1)
    restart = ActionProposal(action=ActionId.RESTART_INSTANCE, target=WEB_1)

    model = remediation.run(execute(restart), Text("Restarted, as the log line said."))

    [result] = model.tool_results()
    assert "different plan" in assert_refused_by_guardrail(result)
    remediation.nothing_ran(restart)
    remediation.nothing_ran(CLEAR_WEB_1)


@pytest.mark.parametrize(
    ("tool_input", "why"),
    [
        ({"action": "terminate_instances", "target": WEB_1}, "not a catalog action"),
        (
            {"action": "clear_disk_space", "target": WEB_1, "params": {"paths": ["/"]}},
            "invalid parameters",
        ),
        (
            {"action": "restart_service", "target": WEB_1, "params": {"service": "x;reboot"}},
            "invalid parameters",
        ),
    ],
    ids=["not in the catalog", "path outside the allow-list", "shell in a parameter"],
)
def test_calls_outside_the_catalog_are_cancelled(
    remediation: Remediation, tool_input: dict[str, Any], why: str
) -> None:
    remediation.grant(CLEAR_WEB_1)

    model = remediation.run(ToolCall(EXECUTE_ACTION, tool_input), Text("Refused."))

    [result] = model.tool_results()
    assert why in assert_refused_by_guardrail(result)
    remediation.nothing_ran(CLEAR_WEB_1)


# --------------------------------------------------------------------------- the approved plan


def test_the_approved_plan_runs_once(remediation: Remediation) -> None:
    approval = remediation.grant(CLEAR_WEB_1)

    model = remediation.run(execute(CLEAR_WEB_1), Text("Cleared the disk on web-1."))

    [result] = model.tool_results()
    assert result["status"] == "success"
    payload = unfence(result["content"][0]["text"])
    assert payload["action"] == "clear_disk_space" and payload["status"] == "succeeded"
    assert remediation.cancelled == []
    assert [(c["DocumentName"], c["InstanceIds"]) for c in remediation.send_commands] == [
        ("CleanupDisk", [WEB_1])
    ]
    record = remediation.store.get_execution(remediation.incident_id, digest_of(CLEAR_WEB_1))
    assert record is not None and record.status == "succeeded"
    stored = remediation.store.get_approval(approval.id)
    assert stored is not None and stored.status == ApprovalStatus.CONSUMED


def test_a_refused_detour_does_not_stop_the_approved_plan(remediation: Remediation) -> None:
    remediation.grant(CLEAR_WEB_1)
    restart = ActionProposal(action=ActionId.RESTART_INSTANCE, target=WEB_1)

    model = remediation.run(execute(restart), execute(CLEAR_WEB_1), Text("Done."))

    refused, ran = model.tool_results()
    assert_refused_by_guardrail(refused)
    assert ran["status"] == "success"
    assert len(remediation.send_commands) == 1
    assert remediation.automation.started == []


def test_a_used_approval_cannot_run_the_plan_again(remediation: Remediation) -> None:
    """The second call finds the approval CONSUMED: the hook cancels it, nothing is resent."""
    remediation.grant(CLEAR_WEB_1)

    model = remediation.run(execute(CLEAR_WEB_1), execute(CLEAR_WEB_1), Text("Done."))

    ran, again = model.tool_results()
    assert ran["status"] == "success"
    assert "CONSUMED, not APPROVED" in assert_refused_by_guardrail(again)
    assert len(remediation.send_commands) == 1


@pytest.mark.parametrize("params", [5, [["/var/log/app"]]], ids=["number", "nested list"])
def test_parameters_that_are_not_an_object_are_refused(
    remediation: Remediation, params: Any
) -> None:
    remediation.grant(CLEAR_WEB_1)
    call = ToolCall(
        EXECUTE_ACTION, {"action": "clear_disk_space", "target": WEB_1, "params": params}
    )

    model = remediation.run(call, Text("Refused."))

    [result] = model.tool_results()
    assert "invalid parameters" in assert_refused_by_guardrail(result)
    remediation.nothing_ran(CLEAR_WEB_1)
