"""What a human does to an incident from the command line besides approving: close it, saying
how they fixed it (which scores a shadow recommendation)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from healer.domain import Incident, Outcome, Step
from healer.errors import UserError
from healer.trust import Result, TrustBar
from healer.workflow.outcomes import record_outcome

if TYPE_CHECKING:
    from healer.store import Store


def close_by_human(
    store: Store,
    incident: Incident,
    user: str,
    reason: str,
    now: datetime,
    fixed_by: tuple[str, str | None] | None = None,
    bar: TrustBar | None = None,
) -> bool | None:
    """Close an incident the healer should stop working on; audited with who and why.

    `fixed_by` is the human's fix, (action, target or None). On an incident the healer
    handled in shadow, it scores the recommendation: the same action (on the same target, when
    one is named) agrees; the result goes to the action's trust record. Returns whether it
    agreed, or None when there was no recommendation to score.

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
    agreed = None
    if fixed_by is not None:
        agreed = _score_fix(store, incident, user, fixed_by, bar or TrustBar())
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
    return agreed


def _score_fix(
    store: Store, incident: Incident, user: str, fix: tuple[str, str | None], bar: TrustBar
) -> bool | None:
    action, target = fix
    recommended = incident.plan.action if incident.plan else None
    shadow = incident.step is Step.AWAIT_FIX and recommended is not None
    agreed = None
    if shadow and recommended is not None:
        agreed = recommended.action.value == action and target in (None, recommended.target)
    store.append(
        incident.id,
        "human_fix_recorded",
        f"human:{user}",
        {
            "action": action,
            "target": target,
            "recommended": recommended.model_dump(mode="json") if recommended else None,
            "agreed": agreed,
        },
    )
    if agreed is not None:
        result = Result.AGREED if agreed else Result.DISAGREED
        record_outcome(store, incident, result, bar, f"human:{user}", {"fixed_by": action})
    return agreed
