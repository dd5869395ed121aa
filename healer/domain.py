"""Domain types: the vocabulary of the replay-case spec, as pydantic models and enums.

Nothing here does I/O or imports other project modules.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Category(StrEnum):
    """Root-cause categories (closed list, spec v1)."""

    CPU_SATURATION = "cpu_saturation"
    MEMORY_EXHAUSTION = "memory_exhaustion"
    DISK_FULL = "disk_full"
    PROCESS_CRASH = "process_crash"
    BAD_DEPLOYMENT = "bad_deployment"
    CONFIG_ERROR = "config_error"
    DEPENDENCY_FAILURE = "dependency_failure"
    INSTANCE_FAILURE = "instance_failure"
    NETWORK_ISSUE = "network_issue"
    CERTIFICATE_EXPIRY = "certificate_expiry"
    CREDENTIAL_FAILURE = "credential_failure"
    CAPACITY_LIMIT = "capacity_limit"
    TRAFFIC_SURGE = "traffic_surge"
    SECURITY_THREAT = "security_threat"
    AZ_IMPAIRMENT = "az_impairment"
    NO_FAULT = "no_fault"
    UNKNOWN = "unknown"


class ActionId(StrEnum):
    """Catalog action ids (spec v1)."""

    RESTART_SERVICE = "restart_service"
    CLEAR_DISK_SPACE = "clear_disk_space"
    RESTART_INSTANCE = "restart_instance"
    REPLACE_INSTANCE = "replace_instance"
    ISOLATE_INSTANCE = "isolate_instance"
    SCALE_OUT = "scale_out"
    RAISE_CAPACITY_LIMIT = "raise_capacity_limit"
    RESIZE_INSTANCE = "resize_instance"
    ROLLBACK_DEPLOYMENT = "rollback_deployment"


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return {"low": 0, "medium": 1, "high": 2}[self.value]

    @staticmethod
    def highest(*risks: Risk) -> Risk:
        return max(risks, key=lambda r: r.rank)


class Decision(StrEnum):
    AUTO_HEAL = "auto_heal"
    NEEDS_APPROVAL = "needs_approval"
    ESCALATE = "escalate"
    NO_ACTION = "no_action"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    REJECTED = "rejected"
    NO_ACTION = "no_action"
    EXPIRED = "expired"
    CLOSED = "closed"  # by a human (`healer incidents close`), whatever the healer was doing


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class AlarmKind(StrEnum):
    METRIC = "metric"
    METRIC_MATH = "metric_math"
    ANOMALY_DETECTION = "anomaly_detection"
    COMPOSITE = "composite"


class TargetKind(StrEnum):
    INSTANCE = "instance"
    INSTANCE_IN_ASG = "instance_in_asg"
    ASG = "asg"


class ExecutorKind(StrEnum):
    SSM_COMMAND = "ssm_command"
    SSM_AUTOMATION = "ssm_automation"
    AUTOSCALING = "autoscaling"


class CostFormula(StrEnum):
    """How the cost of an action is computed (see DESIGN.md, Cost)."""

    ZERO = "zero"
    ADDED_CAPACITY_24H = "added_capacity_24h"
    RAISED_LIMIT_24H = "raised_limit_24h"
    RESIZE_730H = "resize_730h"


class Step(StrEnum):
    """Workflow steps, in order; an incident's `step` is the next one to run."""

    INVESTIGATE = "investigate"
    GOVERN = "govern"
    AWAIT_APPROVAL = "await_approval"
    AWAIT_FIX = "await_fix"  # shadow: the healer recommended, a human fixes and closes it
    REMEDIATE = "remediate"
    VERIFY = "verify"
    CLOSE = "close"
    DONE = "done"


class ApprovalStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CONSUMED = "CONSUMED"


_FROZEN = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- alarm events


class MetricRef(BaseModel):
    """One metric (or expression) an alarm watches."""

    model_config = _FROZEN

    id: str
    namespace: str | None = None
    name: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str | None = None
    period: int | None = None
    expression: str | None = None
    return_data: bool = True


class AlarmEvent(BaseModel):
    """A parsed EventBridge `CloudWatch Alarm State Change` event."""

    model_config = _FROZEN

    event_id: str
    account: str
    region: str
    time: datetime
    alarm_arn: str
    alarm_name: str
    kind: AlarmKind
    state: AlarmState
    previous_state: AlarmState | None = None
    reason: str = ""
    reason_data: dict[str, Any] = Field(default_factory=dict)
    state_timestamp: datetime
    description: str | None = None
    metrics: tuple[MetricRef, ...] = ()
    alarm_rule: str | None = None
    triggering_alarms: tuple[str, ...] = ()

    @property
    def dedup_key(self) -> str:
        """Same alarm, same state transition: the same event, however often delivered."""
        return f"{self.alarm_arn}@{self.state_timestamp.isoformat()}"

    @property
    def dimensions(self) -> dict[str, str]:
        """The dimensions of every metric the alarm watches, merged."""
        merged: dict[str, str] = {}
        for metric in self.metrics:
            merged.update(metric.dimensions)
        return merged


# --------------------------------------------------------------------------- catalog


class ParamSpec(BaseModel):
    """One parameter of a catalog action."""

    model_config = _FROZEN

    type: Literal["string", "integer", "string_list"]
    required: bool = False
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None
    description: str = ""


class ActionSpec(BaseModel):
    """A catalog action: what it runs, on what, at what base risk and cost."""

    model_config = _FROZEN

    id: ActionId
    description: str
    executor: ExecutorKind
    document: str | None = None
    target: TargetKind
    base_risk: Risk
    cost: CostFormula
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    rollback: str = ""
    verify_within_seconds: int = 600

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return the parameters with defaults filled; raise ValueError naming a bad one."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise ValueError(f"{self.id}: unknown parameter(s) {', '.join(unknown)}")
        resolved: dict[str, Any] = {}
        for name, spec in self.params.items():
            value = params.get(name, spec.default)
            if value is None:
                if spec.required:
                    raise ValueError(f"{self.id}: parameter '{name}' is required")
                continue
            resolved[name] = _check_param(f"{self.id}.{name}", spec, value)
        return resolved


def _check_param(label: str, spec: ParamSpec, value: Any) -> Any:
    if spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{label}: expected an integer, got {value!r}")
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"{label}: {value} is below the minimum {spec.minimum}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"{label}: {value} is above the maximum {spec.maximum}")
        return value
    items = value if spec.type == "string_list" else [value]
    if spec.type == "string_list" and (not isinstance(value, list) or not value):
        raise ValueError(f"{label}: expected a non-empty list of strings, got {value!r}")
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{label}: expected a string, got {item!r}")
        if spec.pattern and not re.fullmatch(spec.pattern, item):
            raise ValueError(f"{label}: {item!r} does not match {spec.pattern}")
    return list(items) if spec.type == "string_list" else value


# --------------------------------------------------------------------------- investigation


class ActionProposal(BaseModel):
    """A catalog action on one target with its parameters."""

    model_config = _FROZEN

    action: ActionId
    target: str
    params: dict[str, Any] = Field(default_factory=dict)


class Diagnosis(BaseModel):
    """The diagnostician's finding."""

    model_config = ConfigDict(frozen=True)

    category: Category = Field(description="Root-cause category from the closed list.")
    summary: str = Field(description="One or two sentences naming the root cause and its evidence.")
    resources: list[str] = Field(
        default_factory=list, description="Ids of the affected instances or ASGs."
    )
    evidence: list[str] = Field(
        default_factory=list, description="Quoted facts: metric values, log lines, changes."
    )
    confidence: float = Field(ge=0, le=1, description="0..1 confidence in the root cause.")
    runbook_id: str | None = Field(default=None, description="Id of the runbook followed.")
    proposed_action: ActionProposal | None = Field(
        default=None, description="The catalog action the runbook prescribes, or null."
    )
    recommendation: Literal["act", "escalate", "no_action"] = Field(
        default="act",
        description="act: run proposed_action; escalate: page a human; no_action: no fault.",
    )


class CostEstimate(BaseModel):
    """The price of an action: added hourly cost × horizon, with its arithmetic."""

    model_config = ConfigDict(frozen=True)

    usd: float | None = Field(description="Estimated cost in USD; null when a price is unknown.")
    breakdown: str = Field(description='The arithmetic, e.g. "10 × m5.xlarge × $0.192/h × 24 h".')
    hourly_usd: float | None = None
    hours: float = 0

    @property
    def known(self) -> bool:
        return self.usd is not None


class RemediationPlan(BaseModel):
    """What the supervisor proposes for an incident."""

    model_config = ConfigDict(frozen=True)

    diagnosis: Diagnosis
    action: ActionProposal | None = None
    cost: CostEstimate | None = None
    suggested_risk: Risk | None = None


class TargetFacts(BaseModel):
    """What the guardrail must know about an action's target, read from AWS."""

    model_config = _FROZEN

    exists: bool = True
    kind: TargetKind | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    asg_name: str | None = None
    asg_min: int | None = None
    asg_max: int | None = None
    asg_desired: int | None = None
    instance_count: int = 1

    @property
    def managed(self) -> bool:
        return self.tags.get("healer:managed") == "true"

    @property
    def stateful(self) -> bool:
        return self.tags.get("healer:stateful") == "true"


class PastAction(BaseModel):
    model_config = _FROZEN

    action: ActionId
    target: str
    at: datetime


class GovernanceDecision(BaseModel):
    """The guardrail's verdict on a plan."""

    model_config = _FROZEN

    decision: Decision
    risk: Risk
    reasons: tuple[str, ...]
    plan_hash: str | None = None
    shadow: bool = Field(default=False, description="shadow mode: recorded, never executed")


class IncidentScope(BaseModel):
    """What AWS facts and the cited runbook say an incident covers, read by the guardrail itself.

    `resources` are the alarmed instances and groups, the groups of alarmed instances, the members
    of alarmed groups and the instances behind alarmed load balancers / target groups. `units` are
    the systemd units tied to the incident by facts: named by an alarm's metric dimensions,
    declared by the runbook, or reported by systemd itself in the host's system log.
    """

    model_config = _FROZEN

    resources: tuple[str, ...] = ()
    category: Category | None = None
    runbook_id: str | None = None
    runbook_category: Category | None = None
    runbook_actions: tuple[ActionId, ...] = ()
    units: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="instance id -> units tied to the incident on it"
    )


def plan_hash(
    action: ActionProposal,
    *,
    cost_usd: float | None = None,
    document_sha256: str | None = None,
    facts: TargetFacts | None = None,
) -> str:
    """Hash of the exact plan an approval is bound to: the action, its target and parameters,
    the cost estimate (in cents), the SSM document's content hash and the target facts the
    decision was made on. If any of them changes, the approval no longer applies."""
    cents: int | str | None = None
    if cost_usd is not None:
        cents = round(cost_usd * 100) if math.isfinite(cost_usd) else repr(cost_usd)
    canonical = json.dumps(
        {
            "action": action.action.value,
            "target": action.target,
            "params": action.params,
            "cost_cents": cents,
            "document_sha256": document_sha256,
            "facts": facts.model_dump(mode="json") if facts else None,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# ------------------------------------------------------------- approvals, incidents, audit


class Approval(BaseModel):
    """A decision to run one exact plan: automatic (policy) or by a human."""

    model_config = ConfigDict(frozen=True)

    id: str
    incident_id: str
    plan_hash: str
    status: ApprovalStatus
    automatic: bool
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    plan: ActionProposal | None = Field(
        default=None, description="The exact action, target and parameters approved, in clear."
    )
    requested_by: str | None = Field(
        default=None, description="Who asked for the action (chat or CLI); may not approve it."
    )
    approvals_needed: int = 1
    approved_by: tuple[str, ...] = ()


class Incident(BaseModel):
    """One incident: the alarms it groups, where the workflow is, and what was decided."""

    id: str
    opened_at: datetime
    account: str
    region: str
    alarms: list[str]
    resources: list[str]
    step: Step = Step.INVESTIGATE
    plan: RemediationPlan | None = None
    governance: GovernanceDecision | None = None
    approval_id: str | None = None
    execution: dict[str, Any] | None = None
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    requested_by: str | None = None
    world: str = Field(
        "",
        description="The account/region, or the one sandbox run, the incident belongs to: "
        "correlation and action history never cross worlds.",
    )
    runtime: dict[str, str] = Field(default_factory=dict)
    version: int = Field(default=0, description="Bumped by every save; a stale save is refused.")


class AuditEvent(BaseModel):
    """One entry of the append-only audit log: HMAC-chained across all incidents in `gseq`
    order, numbered within its incident by `seq`."""

    model_config = _FROZEN

    gseq: int
    incident_id: str
    seq: int
    kind: str
    actor: str
    at: datetime
    data: dict[str, Any]
    prev_hash: str
    hash: str


AUDIT_KINDS = (
    "event_rejected",
    "incident_opened",
    "alarm_correlated",
    "alarm_suppressed",
    "diagnosed",
    "cost_estimated",
    "governance_decided",
    "approval_requested",
    "approval_refused",
    "approved",
    "approval_consumed",
    "rejected",
    "expired",
    "action_blocked",
    "action_started",
    "action_succeeded",
    "action_failed",
    "verified",
    "rolled_back",
    "escalated",
    "closed",
    "announced",  # what the incident's Slack thread has been told, up to which event
    "shadow_decided",  # what the healer would have done, in shadow mode (nothing ran)
    "human_fix_recorded",  # how a human fixed the incident (`incidents close --fixed-by`)
    "trust_outcome",  # one outcome of an (action, runbook), for its trust record
    "trust_changed",  # an (action, runbook) became trusted for autopilot, or stopped being
    "cost_checked",  # the actual cost of capacity an action added, next to its estimate
)
INDEXED_AUDIT_KINDS = ("trust_outcome", "cost_checked")
"""Kinds the store can list across all incidents (`AuditLog.events_of_kind`)."""
