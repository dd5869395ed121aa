"""Exactly once under races and crashes, counted from what the sandbox account received.

- four identical `execute_action` calls in one model turn, and four executors racing on one
  approval from separate connections, send one command;
- five concurrent deliveries of one event open one incident and run one action;
- a crash before or after every store write of `remediate` and of `approve` resumes to exactly
  one side effect and a closed incident.

`make stress` runs this file 20 times (CI does too).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.scripted_model import Parallel, ScriptedModel, Text, ToolCall
from strands import Agent

from agents.guardrail_hook import GuardrailHook
from agents.prompts import REMEDIATOR
from healer.cases import load_case
from healer.config import HealerSettings
from healer.domain import Outcome, Step
from healer.replay import ReplayClock, sandbox_for
from healer.sandbox import Sandbox
from healer.store import SqliteStore
from healer.workflow import steps
from healer.workflow.approvals import approve
from healer.workflow.ingest import ingest
from healer.workflow.runner import run_incident
from healer.workflow.services import Services
from tools.remediation import LOCK_LEASE
from tools.remediation_tools import EXECUTE_ACTION, remediation_tools

CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"
DISK = CASES / "dev-disk-full-web.yaml"  # autopilot: clear_disk_space via SSM Run Command
SURGE = CASES / "dev-traffic-surge-api.yaml"  # approval: scale_out by 10 (4 -> 14)
APPROVER = "U024BE7LH"
WRITES = (
    "append",
    "save",
    "create",
    "transition",
    "add_approver",
    "consume_and_begin",
    "begin",
    "set_external_id",
    "complete",
    "record",
    "accept_event",
    "acquire_lock",
    "release_lock",
)


class Crash(BaseException):
    """The process dies here: nothing after it runs (not even `finally` writes)."""


class CrashingStore:
    """A store that dies before or after its n-th write; after that, every call dies."""

    def __init__(self, inner: SqliteStore, crash_at: int | None, after: bool) -> None:
        self._inner, self._crash_at, self._after = inner, crash_at, after
        self.writes = 0
        self.dead = False

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.dead:
                raise Crash(name)
            if name not in WRITES:
                return attribute(*args, **kwargs)
            self.writes += 1
            if self.writes != self._crash_at:
                return attribute(*args, **kwargs)
            self.dead = True
            if self._after:
                attribute(*args, **kwargs)
            raise Crash(name)

        return call


def commands_sent(sandbox: Sandbox) -> int:
    return len(sandbox.client("ssm").list_commands()["Commands"])


def desired(sandbox: Sandbox, group: str = "api-asg") -> int:
    found = sandbox.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[group]
    )
    return int(found["AutoScalingGroups"][0]["DesiredCapacity"])


@pytest.fixture
def world(
    store: SqliteStore, settings: HealerSettings
) -> Iterator[Callable[[Path], tuple[Sandbox, Services]]]:
    opened: list[Any] = []

    def start(path: Path) -> tuple[Sandbox, Services]:
        context = sandbox_for(load_case(path), path, store, settings)
        opened.append(context)
        return context.__enter__()

    yield start
    for context in opened:
        context.__exit__(None, None, None)


def incident_at(services: Services, sandbox: Sandbox, step: Step) -> str:
    """Ingest the case's events and run the incident until its next step is `step`."""
    [incident_id] = {
        r.incident_id
        for _, raw in sandbox.case_events()
        if (r := ingest(services, raw)).incident_id
    }
    incident = services.store.get(incident_id)
    assert incident is not None
    while incident.step != step:
        incident = run_step(services, incident)
    return incident_id


def run_step(services: Services, incident: Any) -> Any:
    from healer.workflow.runner import STEPS

    incident = STEPS[incident.step](services, incident)
    services.store.save(incident)
    return incident


def resume_after_crash(services: Services, incident_id: str) -> Any:
    """A new process: the dead one's lock lapses, the runner takes the incident up again."""
    assert isinstance(services.clock, ReplayClock)
    services.clock.advance(LOCK_LEASE)
    return run_incident(services, incident_id)


# ------------------------------------------------------------------ parallel executions


def test_four_identical_calls_in_one_turn_send_one_command(
    world: Callable[[Path], tuple[Sandbox, Services]],
) -> None:
    sandbox, services = world(DISK)
    incident_id = incident_at(services, sandbox, Step.REMEDIATE)
    incident = services.store.get(incident_id)
    assert incident is not None and incident.plan is not None and incident.plan.action
    action = incident.plan.action
    call = ToolCall(EXECUTE_ACTION, action.model_dump(mode="json"))
    team = steps.team_for(services, incident)
    hook = GuardrailHook(incident_id, services.catalog, services.store.for_incident, services.clock)
    agent = Agent(  # the default, concurrent tool executor: the executor alone must hold
        model=ScriptedModel([Parallel((call,) * 4), Text("done")]),
        system_prompt=REMEDIATOR,
        tools=remediation_tools(team.ctx),
        hooks=[hook],
        callback_handler=None,
    )

    agent("Run this approved action.")

    assert commands_sent(sandbox) == 1
    record = services.store.get_execution(incident_id, incident.governance.plan_hash)  # type: ignore[union-attr]
    assert record is not None and record.status == "succeeded"


def test_four_executors_racing_on_one_approval_send_one_command(
    world: Callable[[Path], tuple[Sandbox, Services]], settings: HealerSettings
) -> None:
    sandbox, services = world(DISK)
    incident_id = incident_at(services, sandbox, Step.REMEDIATE)
    incident = services.store.get(incident_id)
    assert incident is not None and incident.plan is not None and incident.plan.action
    results: list[str] = []

    def run() -> None:
        own = SqliteStore(settings.store_path)  # another process
        executor = steps.team_for(dataclasses.replace(services, store=own), incident).ctx.executor
        try:
            results.append(executor.execute(incident_id, incident.plan.action).detail)  # type: ignore[union-attr]
        except Exception as exc:  # a refusal is a fine outcome for the losers
            results.append(f"refused: {exc}")

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert commands_sent(sandbox) == 1
    assert len(results) == 4
    assert sum("not repeated" in r or "refused" in r for r in results) == 3, results


# ------------------------------------------------------------------ concurrent deliveries


def test_five_concurrent_deliveries_make_one_incident_and_one_action(
    world: Callable[[Path], tuple[Sandbox, Services]], settings: HealerSettings
) -> None:
    sandbox, services = world(DISK)
    [(_, raw)] = sandbox.case_events()
    barrier = threading.Barrier(5)
    outcomes: list[str] = []

    def deliver() -> None:
        own = SqliteStore(settings.store_path)
        barrier.wait()
        outcomes.append(ingest(dataclasses.replace(services, store=own), raw).status)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["duplicate"] * 4 + ["opened"]
    incidents = services.store.list()
    assert len(incidents) == 1
    assert run_incident(services, incidents[0].id).outcome == Outcome.RESOLVED
    assert commands_sent(sandbox) == 1
    assert [e.status for e in services.store.list_events()].count("duplicate") == 4


# ------------------------------------------------------------------ crashes at every write


def count_writes(run: Callable[[Services], Any], services: Services) -> int:
    counting = CrashingStore(services.store, None, after=False)
    run(dataclasses.replace(services, store=counting))  # type: ignore[arg-type]
    return counting.writes


REMEDIATE_WRITES = 7
APPROVE_WRITES = 3


def test_the_crash_tests_cover_every_write(
    world: Callable[[Path], tuple[Sandbox, Services]],
) -> None:
    """Guards the parametrisation below: a new write in either step must be crashed at too."""
    sandbox, services = world(DISK)
    incident_id = incident_at(services, sandbox, Step.REMEDIATE)
    incident = services.store.get(incident_id)
    assert count_writes(lambda s: steps.remediate(s, incident), services) == REMEDIATE_WRITES


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("crash_at", range(1, REMEDIATE_WRITES + 1))
def test_a_crash_at_any_write_of_remediate_runs_the_action_once(
    world: Callable[[Path], tuple[Sandbox, Services]], crash_at: int, after: bool
) -> None:
    sandbox, services = world(DISK)
    incident_id = incident_at(services, sandbox, Step.REMEDIATE)
    incident = services.store.get(incident_id)
    crashing = CrashingStore(services.store, crash_at, after)

    with pytest.raises(Crash):
        steps.remediate(dataclasses.replace(services, store=crashing), incident)  # type: ignore[arg-type]
    resumed = resume_after_crash(services, incident_id)

    assert commands_sent(sandbox) == 1
    assert resumed.step == Step.DONE and resumed.outcome == Outcome.RESOLVED
    assert services.store.verify().ok


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("crash_at", range(1, APPROVE_WRITES + 1))
def test_a_crash_at_any_write_of_approve_never_sticks_or_repeats(
    world: Callable[[Path], tuple[Sandbox, Services]], crash_at: int, after: bool
) -> None:
    sandbox, services = world(SURGE)
    incident_id = incident_at(services, sandbox, Step.AWAIT_APPROVAL)
    crashing = CrashingStore(services.store, crash_at, after)

    with pytest.raises(Crash):
        approve(dataclasses.replace(services, store=crashing), incident_id, APPROVER)  # type: ignore[arg-type]
    incident = resume_after_crash(services, incident_id)
    if incident.step == Step.AWAIT_APPROVAL:  # the approval itself was lost: the human retries
        approve(services, incident_id, APPROVER)
        incident = run_incident(services, incident_id)

    assert incident.step == Step.DONE and incident.outcome == Outcome.RESOLVED
    assert desired(sandbox) == 14, "scaled out once: 4 + 10"
    assert services.store.verify().ok


def test_the_approve_crash_tests_cover_every_write(
    world: Callable[[Path], tuple[Sandbox, Services]],
) -> None:
    sandbox, services = world(SURGE)
    incident_id = incident_at(services, sandbox, Step.AWAIT_APPROVAL)
    assert count_writes(lambda s: approve(s, incident_id, APPROVER), services) == APPROVE_WRITES
