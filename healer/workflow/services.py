"""What the workflow steps need, injected as one bundle: store, AWS, knowledge, model, policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from strands.models.model import Model

from healer.catalog import Catalog
from healer.domain import Approval, GovernanceDecision, Incident, RemediationPlan
from healer.policy import PolicySettings
from healer.store import Store
from healer.trust import Autonomy
from healer.workflow.noise import NoiseRules
from knowledge_base.retriever import Retriever
from knowledge_base.runbooks import Runbook
from tools.autoscaling_actions import InstanceRefresh, start_instance_refresh
from tools.aws import AwsClients
from tools.pricing import PriceSource
from tools.remediation import AutomationRunner, Observer


class ApprovalChannel(Protocol):
    """Where approval requests go: Slack, the terminal, or a recorder."""

    def request(
        self,
        incident: Incident,
        plan: RemediationPlan,
        decision: GovernanceDecision,
        approval: Approval,
    ) -> str | None:
        """Send the request; where it went (`channel/ts` in Slack), if anywhere."""
        ...


@dataclass
class RecordingChannel:
    """Keeps the approval requests (the demo prints them; tests inspect them)."""

    requests: list[tuple[Incident, RemediationPlan, GovernanceDecision, Approval]] = field(
        default_factory=list
    )

    def request(
        self,
        incident: Incident,
        plan: RemediationPlan,
        decision: GovernanceDecision,
        approval: Approval,
    ) -> None:
        self.requests.append((incident, plan, decision, approval))


Announce = Callable[["Services", Incident], None]
"""Tells humans what the incident's timeline has new (its Slack thread), after each step."""


def no_announce(services: Services, incident: Incident) -> None:
    """Announce nowhere (no Slack configured)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    store: Store
    aws: AwsClients
    catalog: Catalog
    retriever: Retriever
    runbooks: dict[str, Runbook]
    prices: PriceSource
    automation: AutomationRunner
    model_factory: Callable[[], Model]
    policy: PolicySettings
    approvers: list[str]
    channel: ApprovalChannel
    clock: Callable[[], datetime] = utc_now
    observers: list[Observer] = field(default_factory=list)
    instance_refresh: InstanceRefresh = start_instance_refresh
    correlation_window_seconds: int = 300
    verify_poll_seconds: float = 15.0
    verify_timeout_cap_seconds: float | None = None
    runtime: dict[str, str] = field(default_factory=dict)
    world: str | None = None
    trail_log_group: str = "/healer/cloudtrail"
    high_risk_approvals: int = 2
    effort: dict[str, Any] = field(default_factory=dict)
    announce: Announce = no_announce
    noise: NoiseRules = field(default_factory=NoiseRules)
    autonomy: Autonomy = field(default_factory=Autonomy)
    cost_miss_factor: float = 2.0
