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


SANDBOX_REALM = "sandbox"


def realm(world: str) -> str:
    """Whose record an incident's outcome joins: every sandbox replay shares one, apart from
    each real account and region, so replays never earn autopilot on AWS."""
    return SANDBOX_REALM if world.startswith("sandbox:") else world


def trust_records(store: Store, world: str) -> dict[tuple[str, str], TrustRecord]:
    """Every record of `world`'s realm, from the audited outcomes in the order they were
    recorded."""
    return realm_records(store, realm(world))


def realm_records(store: Store, wanted: str) -> dict[tuple[str, str], TrustRecord]:
    """Every record of one realm (`realms` names them)."""
    return records(
        (str(e.data["action"]), str(e.data["runbook"]), Result(e.data["result"]))
        for e in store.events_of_kind("trust_outcome")
        if e.data.get("realm") == wanted
    )


def realms(store: Store) -> list[str]:
    """The realms with recorded outcomes."""
    return sorted({str(e.data.get("realm")) for e in store.events_of_kind("trust_outcome")})


def trust_record(store: Store, key: tuple[str, str], world: str) -> TrustRecord:
    action, runbook = key
    return trust_records(store, world).get(key) or TrustRecord(action=action, runbook=runbook)


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
    the record crossing the bar either way, in one write (SQLite: one transaction, so two
    closers cannot both count it)."""
    key = trust_key(incident)
    if key is None:
        return
    with store.batch():
        if any(e.kind == "trust_outcome" for e in store.events(incident.id)):
            return
        _append_outcome(store, incident, key, result, bar, actor, detail or {})


def _append_outcome(
    store: Store,
    incident: Incident,
    key: tuple[str, str],
    result: Result,
    bar: TrustBar,
    actor: str,
    detail: dict[str, Any],
) -> None:
    before = trust_record(store, key, incident.world)
    after = before.plus(result)
    action, runbook = key
    store.append(
        incident.id,
        "trust_outcome",
        actor,
        {
            "action": action,
            "runbook": runbook,
            "result": result.value,
            "realm": realm(incident.world),
            **detail,
        },
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
