"""The sandbox AWS account: a moto server on loopback, seeded from a replay case."""

from __future__ import annotations

import logging
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from healer.cases import Case
from healer.errors import CaseError, ConfigError
from healer.sandbox.alarm_events import build_alarm_event
from healer.sandbox.automation import SandboxAutomation
from healer.sandbox.effects import apply_effects
from healer.sandbox.instance_refresh import replace_members
from healer.sandbox.seed_compute import seed_autoscaling_groups, seed_instances
from healer.sandbox.seed_telemetry import (
    put_log_stream,
    put_series,
    seed_alarms,
    seed_changes,
    seed_ssm_documents,
)
from healer.sandbox.server import LoopbackMotoServer
from healer.sandbox.status_checks import impair
from healer.sandbox.world_record import ORIGIN_HEADER, WorldCall, WorldRecorder

logger = logging.getLogger(__name__)

SSM_DOCUMENTS_DIR = Path(__file__).resolve().parents[2] / "runbooks" / "ssm"
"""The project's SSM Command documents (`runbooks/ssm/*.yaml`)."""

_CLIENT_CONFIG = Config(
    retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=15
)
_ACTIVE_LOCK = threading.Lock()
_active: list[Sandbox] = []
_SESSION_LOCK = threading.Lock()
_sessions: list[boto3.session.Session] = []


def _shared_session() -> boto3.session.Session:
    """One boto3 session per process: it caches service models (~0.1 s per client otherwise)."""
    with _SESSION_LOCK:
        if not _sessions:
            _sessions.append(boto3.session.Session())
        return _sessions[0]


class Sandbox:
    """A sandbox AWS account seeded from a case; one at a time per process.

    moto keeps its state in process-global backends, so `start()` wipes them before seeding and
    refuses to run while another sandbox is running. Use it as a context manager.

    From the end of seeding on, the sandbox records every mutating call the account receives
    (`world_calls`). Its own writes (effects, alarm recoveries, the stand-ins' inner calls) go
    through clients that carry a secret header and are labelled `sandbox`; every call through
    `client()`, or any other client, is the healer's.

    Args:
        case: The replay case whose world to seed.
        anchor: The moment of offset 0 (default: now, UTC; a naive datetime is taken as UTC).
        ssm_documents_dir: Folder of SSM Command documents to register (default: the project's).
    """

    def __init__(
        self,
        case: Case,
        anchor: datetime | None = None,
        *,
        ssm_documents_dir: Path | None = None,
    ) -> None:
        self.case = case
        moment = anchor or datetime.now(UTC)
        self.anchor = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        self._documents_dir = ssm_documents_dir or SSM_DOCUMENTS_DIR
        self._server: LoopbackMotoServer | None = None
        self._endpoint: str | None = None
        self._clients: dict[str, Any] = {}
        self._own_clients: dict[str, Any] = {}
        self._world = WorldRecorder()
        self._automation: SandboxAutomation | None = None
        self.impaired_instances: frozenset[str] = frozenset()
        self.ssm_documents: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Sandbox:
        """Start the moto server, wipe moto's state and seed the case's world."""
        if self._server is not None:
            return self
        with _ACTIVE_LOCK:
            if _active:
                raise ConfigError("another sandbox is running in this process; stop it first")
            _active.append(self)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = LoopbackMotoServer(self._world.middleware)
        self._server.start()
        self._endpoint = self._server.endpoint_url
        seeded = False
        try:
            self._reset()
            self._seed()
            self._world.recording = True
            seeded = True
        finally:
            if not seeded:
                self.stop()
        logger.info("case=<%s>, endpoint=<%s> | sandbox seeded", self.case.id, self._endpoint)
        return self

    def stop(self) -> None:
        """Wipe moto's state and shut the server down; safe to call twice."""
        if self._server is None:
            return
        self._world.recording = False
        try:
            self._reset()
        finally:
            self._server.stop()
            self._server = None
            self._endpoint = None
            self._clients.clear()
            self._own_clients.clear()
            self._automation = None
            with _ACTIVE_LOCK:
                if self in _active:
                    _active.remove(self)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ access

    @property
    def endpoint_url(self) -> str:
        """The moto server's URL (`http://127.0.0.1:<port>`)."""
        if self._endpoint is None:
            raise ConfigError("the sandbox is not running; call start() first")
        return self._endpoint

    @property
    def region(self) -> str:
        """The case's region."""
        return self.case.world.region

    @property
    def account(self) -> str:
        """The case's account id."""
        return self.case.world.account

    @property
    def prices(self) -> dict[str, float]:
        """The case's on-demand price table, instance type → USD per hour."""
        return dict(self.case.world.prices)

    @property
    def world_calls(self) -> list[WorldCall]:
        """Every mutating call received since seeding, in order (kept after `stop()`)."""
        return list(self._world.calls)

    def client(self, service_name: str) -> Any:
        """A boto3 client bound to the sandbox (dummy credentials, the case's region/account).

        Its mutating calls are recorded as the healer's.
        """
        cached = self._clients.get(service_name)
        if cached is None:
            cached = self._clients[service_name] = self._new_client(service_name, {})
        return cached

    def _own_client(self, service_name: str) -> Any:
        """A client for the sandbox's own writes; its calls are labelled `sandbox`."""
        cached = self._own_clients.get(service_name)
        if cached is None:
            headers = {ORIGIN_HEADER: self._world.secret}
            cached = self._own_clients[service_name] = self._new_client(service_name, headers)
        return cached

    def _new_client(self, service_name: str, headers: dict[str, str]) -> Any:
        session = _shared_session()
        with _SESSION_LOCK:
            client = session.client(
                service_name,
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id="sandbox",
                aws_secret_access_key="sandbox",
                aws_session_token=None,
                config=_CLIENT_CONFIG,
            )
        account = self.account

        def add_headers(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account
            for name, value in headers.items():
                request.headers[name] = value

        client.meta.events.register("before-sign", add_headers)
        return client

    @property
    def automation(self) -> SandboxAutomation:
        """The SSM Automation stand-in; each start is recorded as the healer's
        `StartAutomationExecution`, its EC2 calls as the sandbox's."""
        if self._automation is None:
            self._automation = SandboxAutomation(self._own_client("ec2"), self._started_automation)
        return self._automation

    def instance_refresh(self, autoscaling: Any, group_name: str) -> str:
        """The Instance Refresh stand-in: recorded as the healer's `StartInstanceRefresh`; the
        sandbox replaces the members itself (`autoscaling`, the caller's client, is not used)."""
        self._world.record(
            "autoscaling",
            "StartInstanceRefresh",
            {"AutoScalingGroupName": group_name},
            "healer",
        )
        return replace_members(self._own_client("autoscaling"), group_name)

    def _started_automation(self, document_name: str, parameters: dict[str, list[str]]) -> None:
        self._world.record(
            "ssm",
            "StartAutomationExecution",
            {"DocumentName": document_name, "Parameters": parameters},
            "healer",
        )

    # ------------------------------------------------------------------ events and effects

    def alarm_event(self, alarm_name: str, at: float = 0, state: str = "ALARM") -> dict[str, Any]:
        """The EventBridge `CloudWatch Alarm State Change` event for a case alarm.

        Args:
            alarm_name: An alarm of the case's world.
            at: Offset of the state change in seconds from the anchor.
            state: The new state (`ALARM`, `OK` or `INSUFFICIENT_DATA`).

        Raises:
            CaseError: The case has no such alarm.
        """
        world = self.case.world
        alarm = world.alarm(alarm_name)
        if alarm is None:
            raise CaseError(f"{self.case.id}: no alarm {alarm_name!r} in the world")
        return build_alarm_event(
            alarm,
            region=world.region,
            account=world.account,
            metrics=world.metrics,
            anchor=self.anchor,
            at=at,
            state=state,
        )

    def case_events(self) -> list[tuple[float, Any]]:
        """The case's events in order as `(offset, event)`; raw events are passed as given."""
        built: list[tuple[float, Any]] = []
        for event in sorted(self.case.events, key=lambda e: e.at):
            if event.alarm is not None:
                state = event.state.value if event.state is not None else "ALARM"
                built.append((event.at, self.alarm_event(event.alarm, event.at, state)))
            else:
                built.append((event.at, event.raw))
        return built

    def apply_effects(
        self, action: str, target: str, params: dict[str, Any] | None = None
    ) -> list[str]:
        """Apply the case's effects of a healer action; return what changed (maybe nothing)."""
        now = datetime.now(UTC)
        return apply_effects(
            self._own_client, self.case, self.anchor, now, action, target, params or {}
        )

    def set_alarm_state(self, alarm_name: str, state: str, reason: str) -> None:
        """Change an alarm's state as CloudWatch would (a sandbox write, not the healer's)."""
        self._own_client("cloudwatch").set_alarm_state(
            AlarmName=alarm_name, StateValue=state, StateReason=reason
        )

    # ------------------------------------------------------------------ internals

    def _reset(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset",
            method="POST",
            headers={ORIGIN_HEADER: self._world.secret},
        )
        with opener.open(request, timeout=10) as response:
            response.read()

    def _seed(self) -> None:
        world = self.case.world
        own = self._own_client
        self.impaired_instances = seed_instances(own, world)
        impair(self.impaired_instances, self.account, self.region)
        seed_autoscaling_groups(own, world)
        seed_alarms(own, world, self.anchor)
        for series in world.metrics:
            put_series(own, series, self.anchor)
        for stream in world.logs:
            put_log_stream(own, stream, self.anchor)
        seed_changes(own, world, self.anchor)
        self.ssm_documents = seed_ssm_documents(own, self._documents_dir)
