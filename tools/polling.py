"""Waiting for an SSM command or automation to finish: backoff, every terminal state, and
tolerance of AWS not knowing a just-sent command yet."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

SUCCEEDED = {"Success", "CompletedWithSuccess"}
FAILED = {
    # SSM Run Command invocation statuses and status details
    "Failed",
    "Cancelled",
    "TimedOut",
    "DeliveryTimedOut",
    "ExecutionTimedOut",
    "Undeliverable",
    "Terminated",
    "InvalidPlatform",
    "AccessDenied",
    # SSM Automation execution statuses
    "Rejected",
    "CompletedWithFailure",
    "Exited",
    "ChangeCalendarOverrideRejected",
}
"""Terminal states; everything else (Pending, InProgress, Delayed, Cancelling, Waiting,
PendingApproval, Scheduled, RunbookInProgress, ...) is still running."""
MAX_POLL_SECONDS = 30.0


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    succeeded: bool
    external_id: str
    detail: str


def wait_for(
    status: Callable[[], str | None],
    what: str,
    external_id: str,
    first_poll_seconds: float,
    timeout_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Poll `status` (None: not known to AWS yet) with doubling waits until a terminal state.

    At the timeout the outcome is unknown: it is reported as not succeeded, and nothing is sent
    again (the caller escalates to a human).
    """
    deadline = time.monotonic() + timeout_seconds
    wait, state = max(first_poll_seconds, 0.0), None
    while True:
        state = status()
        if state in SUCCEEDED:
            return Outcome(succeeded=True, external_id=external_id, detail=f"SSM {what} {state}")
        if state in FAILED:
            return Outcome(succeeded=False, external_id=external_id, detail=f"SSM {what} {state}")
        if time.monotonic() >= deadline:
            seen = state or "not yet registered"
            return Outcome(
                succeeded=False,
                external_id=external_id,
                detail=f"SSM {what} still {seen} after {timeout_seconds:.0f} s; not sent again",
            )
        sleep(wait)
        wait = min(max(wait * 2, 0.05), MAX_POLL_SECONDS)
