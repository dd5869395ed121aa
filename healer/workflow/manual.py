"""What a human does to an incident from the command line besides approving: close it, saying
how they fixed it (which scores a shadow recommendation)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from healer.domain import Incident, Outcome, Step
from healer.errors import UserError
from healer.trust import Result, TrustBar
from healer.workflow.outcomes import record_outcome, result_at_close
from knowledge_base.drafts import write_draft

if TYPE_CHECKING:
    from healer.store import Store


def close_by_human(
    store: Store,
    incident: Incident,
    user: str,
    reason: str,
    now: datetime,
    fixed_by: tuple[str, str | None] | None = None,  # (action, target)
    bar: TrustBar | None = None,
    drafts_dir: Path | None = None,
) -> FixRecorded | None:
    """Close an incident the healer should stop working on; audited with who and why.

    `fixed_by` is the human's fix, (action, target or None). On an incident the healer
    handled in shadow, it scores the recommendation (the target must be named): the same action
    on the same target agrees; the result goes to the action's trust record. Closing after the
    action ran, before its alarms were verified OK, counts against its record. Where no runbook
    fitted (none cited, the healer escalated, or the human fixed it another way), a runbook
    draft goes to `drafts_dir`. An incident the healer closed by escalating takes a fix after
    the fact.

    An incident in its remediate step may have an action running: it must be resumed (which
    finishes or settles the action exactly once) before it can be closed.
    """
    already = incident.step is Step.DONE
    if already and not (fixed_by and _takes_late_fix(store, incident)):
        raise UserError(f"{incident.id} is closed already ({incident.outcome})", "incident")
    if incident.step is Step.REMEDIATE:
        raise UserError(
            f"{incident.id} may have an action running: `healer incidents resume` it first",
            "incident",
        )
    bar = bar or TrustBar()
    recorded = None
    if fixed_by is not None and fixed_by[1] is None and incident.step is Step.AWAIT_FIX:
        raise UserError(
            "name the target the fix was on, to score the shadow recommendation: "
            f"--fixed-by {fixed_by[0]}@TARGET",
            "--fixed-by",
        )
    if fixed_by is not None:
        agreed = _agreement(incident, fixed_by)
        draft = None  # written first: if the write fails, nothing is recorded and a retry can
        if drafts_dir is not None and _needs_draft(incident, agreed):
            draft = str(write_draft(drafts_dir, incident, fixed_by, user, now))
        _record_fix(store, incident, user, fixed_by, agreed, bar)
        recorded = FixRecorded(agreed=agreed, draft=draft)
    if already:
        return recorded
    _record_what_ran(store, incident, bar, user)
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
    return recorded


class FixRecorded(BaseModel):
    agreed: bool | None = Field(description="whether it was the shadow recommendation, if any")
    draft: str | None = None


def _takes_late_fix(store: Store, incident: Incident) -> bool:
    """An escalated incident takes one fix after it closed (how the human resolved it)."""
    return incident.outcome is Outcome.ESCALATED and not any(
        e.kind == "human_fix_recorded" for e in store.events(incident.id)
    )


def _needs_draft(incident: Incident, agreed: bool | None) -> bool:
    diagnosis = incident.plan.diagnosis if incident.plan else None
    return (
        diagnosis is None
        or diagnosis.runbook_id is None
        or agreed is False
        or incident.outcome is Outcome.ESCALATED
    )


def _agreement(incident: Incident, fix: tuple[str, str | None]) -> bool | None:
    """Whether the fix is the shadow recommendation: the same action on the same target (a
    fix that names no target cannot agree); None when nothing was recommended in shadow."""
    recommended = incident.plan.action if incident.plan else None
    if incident.step is not Step.AWAIT_FIX or recommended is None:
        return None
    action, target = fix
    return recommended.action.value == action and target == recommended.target


def _record_what_ran(store: Store, incident: Incident, bar: TrustBar, user: str) -> None:
    """A human closing an incident after its action ran closes its record too: the alarms
    had not been verified OK, so unless they were, it counts against it."""
    digest = incident.governance.plan_hash if incident.governance else None
    execution = store.get_execution(incident.id, digest) if digest else None
    result = result_at_close(incident, execution.status if execution else None)
    if result is not None:
        record_outcome(store, incident, result, bar, f"human:{user}")


def _record_fix(
    store: Store,
    incident: Incident,
    user: str,
    fix: tuple[str, str | None],
    agreed: bool | None,
    bar: TrustBar,
) -> None:
    if any(e.kind == "human_fix_recorded" for e in store.events(incident.id)):
        return  # a retry after a crash before the close: the fix is recorded already
    action, target = fix
    recommended = incident.plan.action if incident.plan else None
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
