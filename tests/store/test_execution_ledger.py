from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from healer.domain import ActionId
from healer.errors import ActionRejected
from healer.store import ExecutionLedger

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

PARAMS = {"service": "nginx"}


@pytest.fixture
def store(contract_store: ExecutionLedger) -> ExecutionLedger:
    """Every test here is part of the store contract: it runs on SQLite and on DynamoDB."""
    return contract_store


def test_begin_records_the_intent(store: ExecutionLedger) -> None:
    record = store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", PARAMS, at=T0)

    assert (record.status, record.action, record.target, record.params) == (
        "started",
        ActionId.RESTART_SERVICE,
        "i-1",
        PARAMS,
    )
    assert (record.started_at, record.finished_at, record.attempts) == (T0, None, 1)
    assert store.get_execution("inc-1", "h1") == record
    assert store.get_execution("inc-1", "other") is None


def test_begin_twice_returns_the_first_record(store: ExecutionLedger) -> None:
    first = store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", PARAMS, at=T0)
    store.set_external_id("inc-1", "h1", "cmd-123")

    again = store.begin(
        "inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", PARAMS, at=T0 + timedelta(1)
    )

    assert again.started_at == first.started_at
    assert (again.status, again.external_id, again.attempts) == ("started", "cmd-123", 2)


def test_begin_after_completion_returns_the_outcome(store: ExecutionLedger) -> None:
    store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", PARAMS, at=T0)
    done = store.complete("inc-1", "h1", "succeeded", {"exit": 0}, at=T0 + timedelta(minutes=1))

    again = store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", PARAMS)

    assert (again.status, again.result, again.finished_at) == (
        "succeeded",
        {"exit": 0},
        done.finished_at,
    )


def test_begin_with_a_different_action_for_the_same_plan_is_rejected(
    store: ExecutionLedger,
) -> None:
    store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", PARAMS)

    with pytest.raises(ActionRejected, match="was begun as restart_service"):
        store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-2", PARAMS)
    with pytest.raises(ActionRejected):
        store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", {"service": "sshd"})


def test_complete_is_idempotent_but_cannot_change_the_outcome(store: ExecutionLedger) -> None:
    store.begin("inc-1", "h1", ActionId.SCALE_OUT, "asg-web", {"desired": 4})
    first = store.complete("inc-1", "h1", "failed", {"error": "throttled"})

    assert store.complete("inc-1", "h1", "failed", {"error": "again"}) == first
    with pytest.raises(ActionRejected, match="already failed"):
        store.complete("inc-1", "h1", "succeeded", {})


def test_complete_and_external_id_need_a_begun_execution(store: ExecutionLedger) -> None:
    with pytest.raises(LookupError):
        store.complete("inc-1", "h1", "succeeded", {})
    with pytest.raises(LookupError):
        store.set_external_id("inc-1", "h1", "cmd-1")


def test_external_id_cannot_be_replaced(store: ExecutionLedger) -> None:
    store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", PARAMS)
    store.set_external_id("inc-1", "h1", "cmd-1")

    assert store.set_external_id("inc-1", "h1", "cmd-1").external_id == "cmd-1"
    with pytest.raises(ActionRejected, match="cmd-1"):
        store.set_external_id("inc-1", "h1", "cmd-2")


def test_complete_refuses_a_non_final_status(store: ExecutionLedger) -> None:
    store.begin("inc-1", "h1", ActionId.RESTART_SERVICE, "i-1", PARAMS)
    with pytest.raises(ValueError, match="status"):
        store.complete("inc-1", "h1", "started", {})


def test_action_may_be_given_by_its_id_string_but_must_exist(store: ExecutionLedger) -> None:
    record = store.begin("inc-1", "h1", "restart_service", "i-1", PARAMS)
    assert record.action is ActionId.RESTART_SERVICE

    with pytest.raises(ValueError, match="reboot_everything"):
        store.begin("inc-1", "h2", "reboot_everything", "i-1", {})
    assert store.get_execution("inc-1", "h2") is None


def test_ids_with_separators_do_not_share_a_record(store: ExecutionLedger) -> None:
    store.begin("a#b", "c", ActionId.RESTART_SERVICE, "i-1", PARAMS, at=T0)

    assert store.get_execution("a", "b#c") is None
    assert store.get_execution("a#b", "c") is not None
