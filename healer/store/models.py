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
    """One thing wrong with the audit log, named by incident and event where known."""

    model_config = _FROZEN

    incident_id: str | None = Field(
        default=None, description="None for a problem of the whole log."
    )
    seq: int | None = Field(default=None, description="The event's number within its incident.")
    kind: str | None = Field(
        default=None, description="Kind of the event; None when it is missing."
    )
    gseq: int | None = Field(default=None, description="The event's position in the whole log.")
    problem: str

    def __str__(self) -> str:
        where = []
        if self.incident_id is not None:
            event = "" if self.seq is None else f" #{self.seq} ({self.kind or '?'})"
            where.append(f"{self.incident_id}{event}")
        if self.gseq is not None:
            where.append(f"log #{self.gseq}")
        return f"{', '.join(where) or 'audit log'}: {self.problem}"


class AuditReport(BaseModel):
    """The result of verifying the audit log, its signed head and its digests."""

    model_config = _FROZEN

    ok: bool
    incidents_checked: int
    events_checked: int
    digests_checked: int = 0
    problems: list[AuditProblem] = Field(default_factory=list)


class LogHead(BaseModel):
    """The log's newest event and newest digest, signed with the audit key.

    Updated with every append, so removing events from the tail shows.
    """

    model_config = _FROZEN

    gseq: int
    hash: str
    digests: int = Field(description="How many digests have been written.")
    digest_name: str | None
    digest_sha256: str | None
    digest_gseq: int = Field(description="The newest digest's head gseq; 0 before the first.")
    key_id: str
    mac: str
