"""The trust record of each (action, runbook), kept in the audit log itself.

Each incident whose proposal ran, was refused by a human, or was scored in shadow adds one
`trust_outcome` event; when that outcome moves its record across the bar, a `trust_changed`
event says so, with why. The records are read back from those events, so what autopilot
rests on is in the verifiable audit chain and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from healer.domain import Incident, Outcome
from healer.trust import NO_RUNBOOK, Result, TrustBar, TrustRecord, records, standing

if TYPE_CHECKING:
    from healer.store import Store


def trust_key(incident: Incident) -> tuple[str, str] | None:
    """The (action, runbook) an incident's plan is measured under; None without an action."""
    plan = incident.plan
    if plan is None or plan.action is None:
        return None
    return plan.action.action.value, plan.diagnosis.runbook_id or NO_RUNBOOK


def trust_records(store: Store) -> dict[tuple[str, str], TrustRecord]:
    """Every record, from the audited outcomes in the order they were recorded."""
    return records(
        (str(e.data["action"]), str(e.data["runbook"]), Result(e.data["result"]))
        for e in store.events_of_kind("trust_outcome")
    )


def trust_record(store: Store, key: tuple[str, str]) -> TrustRecord:
    action, runbook = key
    return trust_records(store).get(key) or TrustRecord(action=action, runbook=runbook)


def result_at_close(incident: Incident, executed: str | None) -> Result | None:
    """What a closing incident adds to its record: `executed` is its execution's status."""
    if executed is not None:
        if executed == "failed":
            return Result.ACTION_FAILED
        return Result.RECOVERED if incident.outcome is Outcome.RESOLVED else Result.NOT_RECOVERED
    if incident.outcome is Outcome.REJECTED:
        return Result.REJECTED
    return None


def record_outcome(
    store: Store,
    incident: Incident,
    result: Result,
    bar: TrustBar,
    actor: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add the incident's outcome to its record once (a re-run finds it recorded), and audit
    the record crossing the bar either way."""
    key = trust_key(incident)
    if key is None or any(e.kind == "trust_outcome" for e in store.events(incident.id)):
        return
    before = trust_record(store, key)
    after = before.plus(result)
    action, runbook = key
    store.append(
        incident.id,
        "trust_outcome",
        actor,
        {"action": action, "runbook": runbook, "result": result.value, **(detail or {})},
    )
    was, now = standing(before, bar), standing(after, bar)
    if was.trusted != now.trusted:
        store.append(
            incident.id,
            "trust_changed",
            "system:trust",
            {
                "action": action,
                "runbook": runbook,
                "trusted": now.trusted,
                "change": "promoted" if now.trusted else "demoted",
                "why": now.why,
                "after": result.value,
            },
        )
