"""The store contract under races: two handles (processes, Lambda containers) on one store,
SQLite and DynamoDB alike."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from healer.domain import ActionId, Approval, ApprovalStatus, Incident
from healer.errors import ActionRejected, ConcurrentUpdate

RACERS = 8
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_approval(**changes: object) -> Approval:
    fields: dict[str, object] = {
        "id": "ap-1",
        "incident_id": "inc-1",
        "plan_hash": "a" * 64,
        "status": ApprovalStatus.PENDING,
        "automatic": False,
        "requested_at": T0,
        "expires_at": T0 + timedelta(minutes=30),
    }
    return Approval.model_validate(fields | changes)


def _race(handles: list[Any], call: Callable[[Any], Any]) -> list[Any]:
    """Run `call` on every handle at once; each result, or the exception it raised."""

    def attempt(handle: Any) -> Any:
        try:
            return call(handle)
        except ActionRejected as exc:
            return exc

    with ThreadPoolExecutor(len(handles)) as pool:
        return list(pool.map(attempt, handles))


def test_racing_deliveries_of_one_event_record_one_first(
    open_contract_store: Callable[[], Any],
) -> None:
    handles = [open_contract_store() for _ in range(RACERS)]
    firsts = _race(handles, lambda h: h.record("alarm@t0", "accepted", "", "inc-1", {"n": 1}))

    assert firsts.count(True) == 1
    events = handles[0].list_events()
    assert len(events) == RACERS
    assert [e.first for e in events].count(True) == 1
    assert {e.status for e in events if not e.first} == {"duplicate"}


def test_racing_consumers_of_one_approval_consume_it_once(
    open_contract_store: Callable[[], Any],
) -> None:
    handles = [open_contract_store() for _ in range(RACERS)]
    handles[0].create(make_approval(status=ApprovalStatus.APPROVED, decided_by="U1"))
    approved, consumed = ApprovalStatus.APPROVED, ApprovalStatus.CONSUMED

    outcomes = _race(handles, lambda h: h.transition("ap-1", approved, consumed, "executor", T0))

    assert sum(not isinstance(o, ActionRejected) for o in outcomes) == 1
    assert all("is CONSUMED, not APPROVED" in str(o) for o in outcomes if isinstance(o, Exception))


def test_racing_second_approvers_approve_once(open_contract_store: Callable[[], Any]) -> None:
    handles = [open_contract_store() for _ in range(RACERS)]
    handles[0].create(make_approval(approvals_needed=2))
    handles[0].add_approver("ap-1", "U1", T0)

    outcomes = _race(handles, lambda h: h.add_approver("ap-1", f"U{2 + handles.index(h)}", T0))

    winners = [o for o in outcomes if not isinstance(o, ActionRejected)]
    assert len(winners) == 1 and winners[0].status == ApprovalStatus.APPROVED
    stored = handles[0].get_approval("ap-1")
    assert stored is not None and stored.approved_by == ("U1", winners[0].approved_by[1])


def test_racing_begins_of_one_plan_share_one_intent(open_contract_store: Callable[[], Any]) -> None:
    handles = [open_contract_store() for _ in range(RACERS)]
    plan = ("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", {"service": "nginx"})

    records = _race(handles, lambda h: h.begin(*plan, at=T0))

    assert {r.started_at for r in records} == {T0}
    assert sorted(r.attempts for r in records) == list(range(1, RACERS + 1))
    assert handles[0].get_execution("inc-1", "h1").attempts == RACERS


def test_racing_takers_of_one_lock_get_one_holder(open_contract_store: Callable[[], Any]) -> None:
    handles = [open_contract_store() for _ in range(RACERS)]
    lease = timedelta(minutes=5)

    taken = _race(handles, lambda h: h.acquire_lock("i-1", f"owner-{id(h)}", lease, T0))

    assert taken.count(True) == 1
    holder = f"owner-{id(handles[taken.index(True)])}"
    other = next(h for h in handles if f"owner-{id(h)}" != holder)
    other.release_lock("i-1", f"owner-{id(other)}")  # not its lock: nothing happens
    assert not other.acquire_lock("i-1", "late", lease, T0 + timedelta(minutes=4))
    assert other.acquire_lock("i-1", "late", lease, T0 + timedelta(minutes=5))
    other.release_lock("i-1", "late")
    assert handles[0].acquire_lock("i-1", "next", lease, T0 + timedelta(minutes=5))


def test_racing_saves_of_one_copy_keep_one(open_contract_store: Callable[[], Any]) -> None:
    handles = [open_contract_store() for _ in range(RACERS)]
    incident = Incident(
        id="inc-1", opened_at=T0, account="1", region="us-east-1", alarms=["a"], resources=["i-1"]
    )
    handles[0].save(incident)

    def save(handle: Any) -> Any:
        copy = handle.get("inc-1").model_copy(update={"requested_by": f"U{id(handle)}"})
        try:
            handle.save(copy)
        except ConcurrentUpdate as exc:
            return exc
        return copy

    outcomes = _race(handles, save)

    saved = [o for o in outcomes if not isinstance(o, ConcurrentUpdate)]
    stored = handles[0].get("inc-1")
    assert saved, "every save lost the race"
    assert stored.version == 1 + len(saved)  # no save overwrote another silently
    assert stored.requested_by in {s.requested_by for s in saved}


def test_racing_appends_make_one_chain_that_verifies(
    open_contract_store: Callable[[], Any],
) -> None:
    handles = [open_contract_store() for _ in range(RACERS)]

    def append_three(handle: Any) -> list[Any]:
        incident = f"inc-{handles.index(handle) % 3}"
        return [handle.append(incident, "diagnosed", "agent", {"n": n}) for n in range(3)]

    appended = [event for events in _race(handles, append_three) for event in events]

    assert sorted(e.gseq for e in appended) == list(range(1, 3 * RACERS + 1))
    for incident in ("inc-0", "inc-1", "inc-2"):
        seqs = [e.seq for e in handles[0].events(incident)]
        assert seqs == list(range(1, len(seqs) + 1))
    assert handles[0].verify().ok
