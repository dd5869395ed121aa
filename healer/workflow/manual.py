"""What a human does to an incident from the command line besides approving: close it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from healer.domain import Incident, Outcome, Step
from healer.errors import UserError

if TYPE_CHECKING:
    from healer.store import Store


def close_by_human(store: Store, incident: Incident, user: str, reason: str, now: datetime) -> None:
    """Close an incident the healer should stop working on; audited with who and why.

    An incident in its remediate step may have an action running: it must be resumed (which
    finishes or settles the action exactly once) before it can be closed.
    """
    if incident.step is Step.DONE:
        raise UserError(f"{incident.id} is closed already ({incident.outcome})", "incident")
    if incident.step is Step.REMEDIATE:
        raise UserError(
            f"{incident.id} may have an action running: `healer incidents resume` it first",
            "incident",
        )
    store.append(
        incident.id,
        "closed",
        f"human:{user}",
        {"outcome": Outcome.CLOSED.value, "reason": reason, "was_at": incident.step.value},
    )
    incident.outcome = Outcome.CLOSED
    incident.step = Step.DONE
    incident.closed_at = now
    store.save(incident)
