"""The executor (`tools.remediation.Executor`): only an approved exact plan runs, and only once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.clock import NOW, FakeClock

from healer.cases import load_case
from healer.catalog import default_catalog
from healer.domain import ActionId, ActionProposal, Approval, ApprovalStatus, plan_hash
from healer.errors import ActionRejected, ApprovalRequired, ToolInputError
from healer.sandbox import Sandbox
from healer.store import SqliteStore
from tools.autoscaling_actions import intent_of
from tools.aws import AwsClients
from tools.remediation import Executor

CASES_DIR = Path(__file__).resolve().parents[2] / "evals" / "cases"
DISK, SURGE = "dev-disk-full-web", "dev-traffic-surge-api"
WEB_1, WEB_2 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"

CLEAR_WEB_1 = ActionProposal(action=ActionId.CLEAR_DISK_SPACE, target=WEB_1)


@pytest.fixture(scope="module")
def sandbox_for() -> Iterator[Callable[[str], Sandbox]]:
    """The running sandbox of a case; one at a time (moto's state is process-global)."""
    running: dict[str, Sandbox] = {}

    def get(case_id: str) -> Sandbox:
        if case_id not in running:
            for other in running.values():
                other.stop()
            running.clear()
            running[case_id] = Sandbox(load_case(CASES_DIR / f"{case_id}.yaml")).start()
        return running[case_id]

    yield get
    for sandbox in running.values():
        sandbox.stop()


@pytest.fixture
def sandbox(sandbox_for: Callable[[str], Sandbox]) -> Sandbox:
    return sandbox_for(DISK)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Iterator[SqliteStore]:
    with SqliteStore(":memory:", clock=clock) as opened:
        yield opened


def executor_for(sandbox: Sandbox, store: SqliteStore, clock: FakeClock) -> Executor:
    return Executor(
        AwsClients.from_factory(sandbox, sandbox.region),
        default_catalog(),
        store,
        sandbox.automation,
        clock,
        poll_seconds=0,
        timeout_seconds=10,
    )


@pytest.fixture
def executor(sandbox: Sandbox, store: SqliteStore, clock: FakeClock) -> Executor:
    return executor_for(sandbox, store, clock)


@pytest.fixture
def incident_id() -> str:
    return f"inc-{uuid.uuid4().hex[:8]}"


def exact(proposal: ActionProposal) -> ActionProposal:
    """The proposal with its parameters' defaults filled, as an approval binds it."""
    spec = default_catalog()[proposal.action]
    return proposal.model_copy(update={"params": spec.validate_params(proposal.params)})


def digest_of(proposal: ActionProposal) -> str:
    """The hash the policy binds an approval to: parameters with their defaults filled."""
    spec = default_catalog()[proposal.action]
    return plan_hash(proposal.model_copy(update={"params": spec.validate_params(proposal.params)}))


def grant(
    store: SqliteStore,
    incident_id: str,
    proposal: ActionProposal,
    status: ApprovalStatus = ApprovalStatus.APPROVED,
    expires_at: datetime = NOW + timedelta(minutes=30),
) -> Approval:
    approval = Approval(
        id=f"apr-{uuid.uuid4().hex[:8]}",
        incident_id=incident_id,
        plan_hash=digest_of(proposal),
        plan=exact(proposal),
        status=status,
        automatic=status == ApprovalStatus.APPROVED,
        requested_at=NOW - timedelta(minutes=1),
        expires_at=expires_at,
    )
    store.create(approval)
    return approval


def commands_sent(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Commands the sandbox's SSM has received (moto lists every instance in `InstanceIds`)."""
    return list(sandbox.client("ssm").list_commands()["Commands"])


@pytest.fixture
def send_command_requests(sandbox: Sandbox) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every SendCommand request made through the sandbox's SSM client."""
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(dict(params))

    events = sandbox.client("ssm").meta.events
    events.register("provide-client-params.ssm.SendCommand", record)
    yield requests
    events.unregister("provide-client-params.ssm.SendCommand", record)


def desired_capacity(sandbox: Sandbox, group: str) -> int:
    groups = sandbox.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[group]
    )
    return int(groups["AutoScalingGroups"][0]["DesiredCapacity"])


# --------------------------------------------------------------------------- refusals


def test_without_an_approval_nothing_runs(
    executor: Executor, store: SqliteStore, sandbox: Sandbox, incident_id: str
) -> None:
    before = len(commands_sent(sandbox))

    with pytest.raises(ApprovalRequired, match="no approval"):
        executor.execute(incident_id, CLEAR_WEB_1)

    assert store.get_execution(incident_id, digest_of(CLEAR_WEB_1)) is None
    assert len(commands_sent(sandbox)) == before


@pytest.mark.parametrize(
    "approved",
    [
        ActionProposal(action=ActionId.CLEAR_DISK_SPACE, target=WEB_2),
        ActionProposal(
            action=ActionId.CLEAR_DISK_SPACE, target=WEB_1, params={"older_than_days": 7}
        ),
        ActionProposal(action=ActionId.RESTART_SERVICE, target=WEB_1, params={"service": "nginx"}),
    ],
    ids=["other target", "other parameters", "other action"],
)
def test_an_approval_for_another_plan_is_refused(
    executor: Executor,
    store: SqliteStore,
    sandbox: Sandbox,
    incident_id: str,
    approved: ActionProposal,
) -> None:
    approval = grant(store, incident_id, approved)
    before = len(commands_sent(sandbox))

    with pytest.raises(ActionRejected, match="different plan"):
        executor.execute(incident_id, CLEAR_WEB_1)

    assert store.get_execution(incident_id, digest_of(CLEAR_WEB_1)) is None
    assert len(commands_sent(sandbox)) == before
    assert store.get_approval(approval.id).status == ApprovalStatus.APPROVED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (ApprovalStatus.PENDING, "PENDING, not APPROVED"),
        (ApprovalStatus.REJECTED, "REJECTED, not APPROVED"),
        (ApprovalStatus.EXPIRED, "EXPIRED, not APPROVED"),
        (ApprovalStatus.CONSUMED, "CONSUMED, not APPROVED"),
    ],
)
def test_an_approval_that_is_not_approved_is_refused(
    executor: Executor,
    store: SqliteStore,
    sandbox: Sandbox,
    incident_id: str,
    status: ApprovalStatus,
    why: str,
) -> None:
    grant(store, incident_id, CLEAR_WEB_1, status=status)
    before = len(commands_sent(sandbox))

    with pytest.raises(ActionRejected, match=why):
        executor.execute(incident_id, CLEAR_WEB_1)

    assert store.get_execution(incident_id, digest_of(CLEAR_WEB_1)) is None
    assert len(commands_sent(sandbox)) == before


def test_an_approved_plan_past_its_expiry_is_refused(
    executor: Executor,
    store: SqliteStore,
    sandbox: Sandbox,
    clock: FakeClock,
    incident_id: str,
) -> None:
    grant(store, incident_id, CLEAR_WEB_1, expires_at=NOW + timedelta(minutes=30))
    clock.now = NOW + timedelta(minutes=30)
    before = len(commands_sent(sandbox))

    with pytest.raises(ActionRejected, match="expired"):
        executor.execute(incident_id, CLEAR_WEB_1)

    assert store.get_execution(incident_id, digest_of(CLEAR_WEB_1)) is None
    assert len(commands_sent(sandbox)) == before


def test_a_consumed_approval_cannot_be_used_again_without_its_execution_record(
    sandbox: Sandbox, clock: FakeClock, incident_id: str
) -> None:
    """The approval was used (CONSUMED) but this store holds no execution of the plan:
    a replayed or re-created incident must not run the action a second time."""
    with SqliteStore(":memory:", clock=clock) as first:
        approval = grant(first, incident_id, CLEAR_WEB_1)
        executor_for(sandbox, first, clock).execute(incident_id, CLEAR_WEB_1)
        assert first.get_approval(approval.id).status == ApprovalStatus.CONSUMED  # type: ignore[union-attr]
        consumed = first.get_approval(approval.id)
    assert consumed is not None
    before = len(commands_sent(sandbox))

    with SqliteStore(":memory:", clock=clock) as fresh:
        fresh.create(consumed)
        with pytest.raises(ActionRejected, match="CONSUMED"):
            executor_for(sandbox, fresh, clock).execute(incident_id, CLEAR_WEB_1)
        assert fresh.get_execution(incident_id, digest_of(CLEAR_WEB_1)) is None

    assert len(commands_sent(sandbox)) == before


def test_invalid_parameters_are_sent_back_to_the_model(
    executor: Executor, store: SqliteStore, sandbox: Sandbox, incident_id: str
) -> None:
    injected = ActionProposal(
        action=ActionId.RESTART_SERVICE, target=WEB_1, params={"service": "nginx; reboot"}
    )
    grant(store, incident_id, CLEAR_WEB_1)
    before = len(commands_sent(sandbox))

    with pytest.raises(ToolInputError, match=r"restart_service\.service"):
        executor.execute(incident_id, injected)

    with pytest.raises(ToolInputError, match="unknown parameter"):
        executor.execute(
            incident_id,
            ActionProposal(action=ActionId.CLEAR_DISK_SPACE, target=WEB_1, params={"rm": "-rf"}),
        )
    assert len(commands_sent(sandbox)) == before


# --------------------------------------------------------------------------- running once


def test_an_approved_plan_runs_once_and_consumes_its_approval(
    executor: Executor,
    store: SqliteStore,
    sandbox: Sandbox,
    send_command_requests: list[dict[str, Any]],
    incident_id: str,
) -> None:
    approval = grant(store, incident_id, CLEAR_WEB_1)
    before = len(commands_sent(sandbox))

    result = executor.execute(incident_id, CLEAR_WEB_1)

    assert result.status == "succeeded"
    assert result.resumed is False
    assert result.params == {"paths": ["/var/log/app"], "older_than_days": 2}
    assert len(commands_sent(sandbox)) == before + 1
    assert [
        {key: request[key] for key in ("DocumentName", "InstanceIds", "Parameters")}
        for request in send_command_requests
    ] == [
        {
            "DocumentName": "CleanupDisk",
            "InstanceIds": [WEB_1],
            "Parameters": {"Paths": ["/var/log/app"], "OlderThanDays": ["2"]},
        }
    ]
    assert result.external_id in {c["CommandId"] for c in commands_sent(sandbox)}
    assert store.get_approval(approval.id).status == ApprovalStatus.CONSUMED  # type: ignore[union-attr]
    record = store.get_execution(incident_id, digest_of(CLEAR_WEB_1))
    assert record is not None and record.status == "succeeded"


def test_executing_the_same_plan_again_returns_the_recorded_result(
    executor: Executor, store: SqliteStore, sandbox: Sandbox, incident_id: str
) -> None:
    grant(store, incident_id, CLEAR_WEB_1)
    before = len(commands_sent(sandbox))
    first = executor.execute(incident_id, CLEAR_WEB_1)

    again = executor.execute(incident_id, CLEAR_WEB_1)

    assert again.resumed is True
    assert again.status == first.status == "succeeded"
    assert again.external_id == first.external_id
    assert "not repeated" in again.detail
    assert len(commands_sent(sandbox)) == before + 1


def test_a_crash_after_sending_the_command_resumes_without_sending_it_again(
    executor: Executor, store: SqliteStore, sandbox: Sandbox, incident_id: str
) -> None:
    grant(store, incident_id, CLEAR_WEB_1)
    digest = digest_of(CLEAR_WEB_1)
    params = {"paths": ["/var/log/app"], "older_than_days": 2}
    # The previous attempt recorded its intent, sent the command, then died before completing.
    store.begin(incident_id, digest, ActionId.CLEAR_DISK_SPACE, WEB_1, params)
    command_id = sandbox.client("ssm").send_command(
        DocumentName="CleanupDisk",
        InstanceIds=[WEB_1],
        Parameters={"Paths": ["/var/log/app"], "OlderThanDays": ["2"]},
    )["Command"]["CommandId"]
    store.set_external_id(incident_id, digest, command_id)
    before = len(commands_sent(sandbox))

    result = executor.execute(incident_id, CLEAR_WEB_1)

    assert result.status == "succeeded"
    assert result.resumed is True
    assert result.external_id == command_id
    assert len(commands_sent(sandbox)) == before
    record = store.get_execution(incident_id, digest)
    assert record is not None and record.status == "succeeded"


def test_scale_out_twice_changes_the_desired_capacity_once(
    sandbox_for: Callable[[str], Sandbox], store: SqliteStore, clock: FakeClock, incident_id: str
) -> None:
    sandbox = sandbox_for(SURGE)
    executor = executor_for(sandbox, store, clock)
    scale_out = ActionProposal(action=ActionId.SCALE_OUT, target="api-asg", params={"count": 3})
    grant(store, incident_id, scale_out)
    before = desired_capacity(sandbox, "api-asg")

    first = executor.execute(incident_id, scale_out)
    again = executor.execute(incident_id, scale_out)

    assert first.status == "succeeded" and first.resumed is False
    assert f"{before} → {before + 3}" in first.detail
    assert again.status == "succeeded" and again.resumed is True
    assert desired_capacity(sandbox, "api-asg") == before + 3


def test_a_crash_after_scaling_out_resumes_without_scaling_again(
    sandbox_for: Callable[[str], Sandbox], store: SqliteStore, clock: FakeClock, incident_id: str
) -> None:
    sandbox = sandbox_for(SURGE)
    executor = executor_for(sandbox, store, clock)
    scale_out = ActionProposal(action=ActionId.SCALE_OUT, target="api-asg", params={"count": 3})
    grant(store, incident_id, scale_out)
    before = desired_capacity(sandbox, "api-asg")
    # The previous attempt recorded its intent, scaled out, then died before completing.
    store.begin(incident_id, digest_of(scale_out), ActionId.SCALE_OUT, "api-asg", {"count": 3})
    intent = intent_of(sandbox.client("autoscaling"), scale_out)
    store.set_external_id(incident_id, digest_of(scale_out), intent)
    sandbox.client("autoscaling").set_desired_capacity(
        AutoScalingGroupName="api-asg", DesiredCapacity=before + 3, HonorCooldown=False
    )

    result = executor.execute(incident_id, scale_out)

    assert result.status == "succeeded"
    assert desired_capacity(sandbox, "api-asg") == before + 3
