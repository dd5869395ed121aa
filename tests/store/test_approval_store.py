from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from healer.domain import Approval, ApprovalStatus
from healer.errors import ActionRejected
from healer.store import ApprovalStore


@pytest.fixture
def store(contract_store: ApprovalStore) -> ApprovalStore:
    """Every test here is part of the store contract: it runs on SQLite and on DynamoDB."""
    return contract_store


T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

PENDING, APPROVED, CONSUMED = (
    ApprovalStatus.PENDING,
    ApprovalStatus.APPROVED,
    ApprovalStatus.CONSUMED,
)


def make_approval(approval_id: str = "ap-1", **changes: object) -> Approval:
    fields: dict[str, object] = {
        "id": approval_id,
        "incident_id": "inc-1",
        "plan_hash": "a" * 64,
        "status": PENDING,
        "automatic": False,
        "requested_at": T0,
        "expires_at": T0 + timedelta(minutes=30),
    }
    return Approval.model_validate(fields | changes)


def test_approval_round_trips(store: ApprovalStore) -> None:
    approval = make_approval()
    store.create(approval)

    assert store.get_approval("ap-1") == approval
    assert store.get_approval("nope") is None


def test_create_refuses_an_existing_id_for_another_plan(store: ApprovalStore) -> None:
    store.create(make_approval())
    with pytest.raises(ValueError, match="ap-1 already exists"):
        store.create(make_approval(plan_hash="b" * 64))


def test_creating_the_same_approval_again_keeps_the_stored_one(store: ApprovalStore) -> None:
    """A step re-run after a crash creates no second approval and does not reset a decision."""
    store.create(make_approval())
    store.transition("ap-1", PENDING, ApprovalStatus.REJECTED, "U1", T0)

    again = store.create(make_approval())

    assert again.status == ApprovalStatus.REJECTED
    assert store.get_approval("ap-1") == again


def test_two_distinct_humans_approve_a_two_person_approval(store: ApprovalStore) -> None:
    store.create(make_approval(approvals_needed=2, requested_by="U-REQ"))

    first = store.add_approver("ap-1", "U1", T0)
    with pytest.raises(ActionRejected, match="already approved"):
        store.add_approver("ap-1", "U1", T0)
    with pytest.raises(ActionRejected, match="requested this action"):
        store.add_approver("ap-1", "U-REQ", T0)
    second = store.add_approver("ap-1", "U2", T0)

    assert first.status == PENDING and first.approved_by == ("U1",)
    assert second.status == ApprovalStatus.APPROVED and second.approved_by == ("U1", "U2")
    with pytest.raises(ActionRejected, match="not PENDING"):
        store.add_approver("ap-1", "U3", T0)


def test_for_incident_returns_the_latest(store: ApprovalStore) -> None:
    store.create(make_approval("ap-1"))
    store.create(make_approval("ap-2", requested_at=T0 + timedelta(minutes=5)))
    store.create(make_approval("ap-other", incident_id="inc-2"))

    latest = store.for_incident("inc-1")

    assert latest is not None and latest.id == "ap-2"
    assert store.for_incident("inc-9") is None


def test_approve_then_consume_exactly_once(store: ApprovalStore) -> None:
    store.create(make_approval())
    approved = store.transition("ap-1", PENDING, APPROVED, "U123", T0 + timedelta(minutes=1))
    assert (approved.status, approved.decided_by) == (APPROVED, "U123")
    assert approved.decided_at == T0 + timedelta(minutes=1)

    consumed = store.transition("ap-1", APPROVED, CONSUMED, "executor", T0 + timedelta(minutes=2))
    assert consumed.status is CONSUMED
    assert (consumed.decided_by, consumed.decided_at) == ("U123", T0 + timedelta(minutes=1))

    with pytest.raises(ActionRejected, match="ap-1 is CONSUMED, not APPROVED"):
        store.transition("ap-1", APPROVED, CONSUMED, "executor", T0 + timedelta(minutes=3))
    assert store.get_approval("ap-1") == consumed


def test_transition_from_the_wrong_state_is_rejected(store: ApprovalStore) -> None:
    store.create(make_approval())
    store.transition("ap-1", PENDING, ApprovalStatus.REJECTED, "U123", T0)

    with pytest.raises(ActionRejected, match="is REJECTED, not PENDING"):
        store.transition("ap-1", PENDING, APPROVED, "U999", T0)
    with pytest.raises(ActionRejected, match="is REJECTED, not APPROVED"):
        store.transition("ap-1", APPROVED, CONSUMED, None, T0)


def test_transitions_outside_the_state_machine_are_refused(store: ApprovalStore) -> None:
    store.create(make_approval())

    with pytest.raises(ActionRejected, match="PENDING -> CONSUMED is not an allowed"):
        store.transition("ap-1", PENDING, CONSUMED, None, T0)
    with pytest.raises(ActionRejected, match="not an allowed"):
        store.transition("ap-1", CONSUMED, APPROVED, None, T0)
    assert store.get_approval("ap-1") == make_approval()


def test_transition_of_a_missing_approval_is_rejected(store: ApprovalStore) -> None:
    with pytest.raises(ActionRejected, match="does not exist"):
        store.transition("ghost", PENDING, APPROVED, "U1", T0)


def test_automatic_approval_is_consumed_once(store: ApprovalStore) -> None:
    store.create(make_approval(status=APPROVED, automatic=True, decided_by="policy"))

    store.transition("ap-1", APPROVED, CONSUMED, "executor", T0)

    with pytest.raises(ActionRejected):
        store.transition("ap-1", APPROVED, CONSUMED, "executor", T0)


def test_times_are_kept_in_utc_and_naive_ones_refused(store: ApprovalStore) -> None:
    expires = (T0 + timedelta(minutes=30)).astimezone(timezone(timedelta(hours=2)))
    store.create(make_approval(expires_at=expires))

    stored = store.get_approval("ap-1")
    assert stored is not None and stored.expires_at == expires
    assert stored.expires_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="at"):
        store.transition("ap-1", PENDING, APPROVED, "U1", T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="expires_at"):
        store.create(make_approval("ap-2", expires_at=T0.replace(tzinfo=None)))
