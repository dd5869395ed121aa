"""Records the store returns besides the domain types: events, executions, audit reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from healer.domain import ActionId

EventStatus = Literal["accepted", "duplicate", "rejected", "suppressed"]
ExecutionStatus = Literal["started", "succeeded", "failed"]

EVENT_STATUSES: tuple[EventStatus, ...] = ("accepted", "duplicate", "rejected", "suppressed")
FINAL_EXECUTION_STATUSES: tuple[ExecutionStatus, ...] = ("succeeded", "failed")

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class EventRecord(BaseModel):
    """One delivery of an incoming alarm event and what was decided about it."""

    model_config = _FROZEN

    id: int
    dedup_key: str
    status: EventStatus
    reason: str
    incident_id: str | None
    raw: dict[str, Any]
    received_at: datetime
    first: bool = Field(description="True for the first delivery of this dedup key.")


class ExecutionRecord(BaseModel):
    """The recorded intent (and later the result) of one side effect."""

    model_config = _FROZEN

    incident_id: str
    plan_hash: str
    status: ExecutionStatus
    action: ActionId
    target: str
    params: dict[str, Any]
    external_id: str | None = None
    result: dict[str, Any] | None = None
    started_at: datetime
    finished_at: datetime | None = None
    attempts: int = Field(
        default=1, description="How often `begin` was called; above 1 means a resume."
    )


class AuditProblem(BaseModel):
    """One thing wrong with an audit chain."""

    model_config = _FROZEN

    incident_id: str
    seq: int
    kind: str | None = Field(description="Kind of the event; None when the event is missing.")
    problem: str

    def __str__(self) -> str:
        return f"{self.incident_id} #{self.seq} ({self.kind or '?'}): {self.problem}"


class AuditReport(BaseModel):
    """The result of recomputing audit chains."""

    model_config = _FROZEN

    ok: bool
    incidents_checked: int
    events_checked: int
    problems: list[AuditProblem] = Field(default_factory=list)
