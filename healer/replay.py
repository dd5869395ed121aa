"""Replay a case in the embedded runtime: sandbox account, offline model, simulated approver."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from strands.models.model import Model

from agents.models import build_model
from healer.cases import Case
from healer.catalog import load_catalog
from healer.config import HealerSettings
from healer.domain import Incident, Step
from healer.errors import ActionRejected
from healer.intake import Batches, Delivery, deliver
from healer.knowledge import runbook_knowledge
from healer.sandbox import CHANGES_LOG_GROUP, Sandbox, WorldCall
from healer.store import Store
from healer.workflow.approvals import approve, expire_if_due, reject
from healer.workflow.costs import adds_capacity, check_cost
from healer.workflow.ingest import IngestResult
from healer.workflow.runner import StepListener, run_incident
from healer.workflow.services import Announce, ApprovalChannel, RecordingChannel, Services
from tools.aws import AwsClients
from tools.pricing import TablePriceSource


class ReplayClock:
    """Real time plus a skew, so a replay can let an approval's deadline pass."""

    def __init__(self) -> None:
        self.skew = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skew

    def advance(self, delta: timedelta) -> None:
        self.skew += delta


@dataclass
class ReplayResult:
    case_id: str
    ingests: list[IngestResult] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    human_decisions: list[str] = field(default_factory=list)
    effort: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0
    world_calls: list[WorldCall] = field(default_factory=list)
    """The sandbox's own record of every mutating call it received after seeding."""


def sandbox_services(
    sandbox: Sandbox,
    store: Store,
    settings: HealerSettings,
    *,
    channel: ApprovalChannel,
    clock: Callable[[], datetime],
    runtime: dict[str, str],
    world: str,
    model_factory: Callable[[], Model] | None = None,
) -> Services:
    """Services wired to a running sandbox account.

    `model_factory` overrides the configured model (a red-team attack supplies its own).
    """
    retriever, runbooks = runbook_knowledge(settings.runbooks_dir.resolve())
    return Services(
        store=store,
        aws=AwsClients.from_factory(sandbox, sandbox.region),
        catalog=load_catalog(settings.runbooks_dir / "catalog.yaml"),
        retriever=retriever,
        runbooks=runbooks,
        prices=TablePriceSource(sandbox.prices),
        automation=sandbox.automation,
        model_factory=model_factory
        or (
            lambda: build_model(
                settings.model, region=sandbox.region, base_url=settings.model_base_url()
            )
        ),
        policy=settings.policy(),
        autonomy=settings.autonomy_rules(),
        cost_miss_factor=settings.cost_miss_factor,
        noise=settings.noise(),
        approvers=list(settings.approvers),
        channel=channel,
        clock=clock,
        observers=[sandbox.apply_effects],
        instance_refresh=sandbox.instance_refresh,
        correlation_window_seconds=settings.correlation_window_seconds,
        verify_poll_seconds=0.2,
        verify_timeout_cap_seconds=3.0,
        runtime=runtime,
        world=world,
        trail_log_group=CHANGES_LOG_GROUP,
        high_risk_approvals=1,  # a replay case has one simulated approver
    )


@contextmanager
def sandbox_for(
    case: Case,
    case_path: Path,
    store: Store,
    settings: HealerSettings,
    channel: ApprovalChannel | None = None,
    world: str | None = None,
    model_factory: Callable[[], Model] | None = None,
) -> Iterator[tuple[Sandbox, Services]]:
    """A running sandbox seeded from the case, and services bound to it.

    Each replay is a world of its own (a fresh account): incidents, correlation and action
    history of earlier replays never leak into it. Resuming an incident passes its `world`.
    """
    with Sandbox(case) as sandbox:
        yield (
            sandbox,
            sandbox_services(
                sandbox,
                store,
                settings,
                channel=channel or RecordingChannel(),
                clock=ReplayClock(),
                runtime={"sandbox_case": str(case_path.resolve())},
                world=world or f"sandbox:{case.id}:{uuid.uuid4().hex[:12]}",
                model_factory=model_factory,
            ),
        )


def replay_case(
    case: Case,
    case_path: Path,
    store: Store,
    settings: HealerSettings,
    *,
    channel: ApprovalChannel | None = None,
    on_step: StepListener | None = None,
    on_ingest: Callable[[IngestResult], None] | None = None,
    ask_human: Callable[[Incident], tuple[str, str] | None] | None = None,
    model_factory: Callable[[], Model] | None = None,
    one_at_a_time: bool = False,
    announce: Announce | None = None,
    batches: Batches | None = None,
) -> ReplayResult:
    """Deliver the case's events, run every incident, and answer approvals as the case's human.

    `ask_human` (interactive use) returns ("approve"|"reject", user) or None to leave it waiting;
    by default the case's simulated approver answers. `model_factory` overrides the configured
    model for every agent of every incident. `one_at_a_time` runs each incident to its end
    before the next event is delivered (so later alarms open incidents of their own). The result
    carries the sandbox's world record. `announce` tells humans each incident's new timeline
    events (a Slack thread). `batches` delivers events from a source (a file, a queue) instead of
    the case's own, each batch's incidents run after it.
    """
    started = time.monotonic()
    result = ReplayResult(case_id=case.id)
    with sandbox_for(case, case_path, store, settings, channel, model_factory=model_factory) as (
        sandbox,
        services,
    ):
        if announce is not None:
            services.announce = announce

        def ingested(outcome: IngestResult) -> None:
            result.ingests.append(outcome)
            if on_ingest:
                on_ingest(outcome)

        own = [Delivery(raw, f"{case.id}@{at:g}s") for at, raw in sandbox.case_events()]
        for batch in batches or ([[d] for d in own] if one_at_a_time else [own]):
            opened = deliver(
                services,
                batch,
                before=lambda raw: _apply_recovery(sandbox, raw),
                on_ingest=ingested,
            )
            _run_all(services, case, opened, result, on_step, ask_human)
        _check_costs_after_horizon(services, result)
        result.effort = dict(services.effort)
    result.world_calls = sandbox.world_calls
    result.wall_seconds = time.monotonic() - started
    return result


def _run_all(
    services: Services,
    case: Case,
    opened: list[str],
    result: ReplayResult,
    on_step: StepListener | None,
    ask_human: Callable[[Incident], tuple[str, str] | None] | None,
) -> None:
    """Run the opened incidents to their end (answering approvals), emptying `opened`."""
    while opened:
        incident_id = opened.pop(0)
        incident = run_incident(services, incident_id, on_step)
        if incident.step == Step.AWAIT_APPROVAL:
            answer = ask_human(incident) if ask_human else _simulated(case)
            if answer is not None:
                result.human_decisions.append(_answer(services, incident, answer))
                incident = run_incident(services, incident_id, on_step)
        result.incidents.append(incident)


def _check_costs_after_horizon(services: Services, result: ReplayResult) -> None:
    """Let the estimates' horizon pass (the clock skips ahead; what ran keeps running), then
    measure what the capacity each incident added actually cost."""
    added = [i for i in result.incidents if adds_capacity(services, i)]
    if not added or not isinstance(services.clock, ReplayClock):
        return
    hours = max((i.plan.cost.hours if i.plan and i.plan.cost else 0) for i in added)
    services.clock.advance(timedelta(hours=hours))
    for incident in added:
        check_cost(services, incident)


def _apply_recovery(sandbox: Sandbox, raw: Any) -> None:
    """An event of a case alarm returning to OK means CloudWatch changed its state first."""
    detail = raw.get("detail") if isinstance(raw, dict) else None
    state = (detail or {}).get("state") or {}
    name = (detail or {}).get("alarmName")
    if state.get("value") != "OK" or sandbox.case.world.alarm(str(name)) is None:
        return
    sandbox.set_alarm_state(str(name), "OK", str(state.get("reason") or "recovered"))


def _simulated(case: Case) -> tuple[str, str] | None:
    if case.human is None:
        return None
    return case.human.decision, case.human.user or "unknown"


def _answer(services: Services, incident: Incident, answer: tuple[str, str]) -> str:
    decision, user = answer
    try:
        if decision == "approve":
            approve(services, incident.id, user)
        elif decision == "reject":
            reject(services, incident.id, user)
        else:
            clock = services.clock
            if isinstance(clock, ReplayClock):
                clock.advance(services.policy.approval_ttl + timedelta(seconds=1))
            expire_if_due(services, incident)
    except ActionRejected as exc:
        return f"{decision} by {user} refused: {exc}"
    return f"{decision} by {user}"
