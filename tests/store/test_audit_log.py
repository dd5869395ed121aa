from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healer.store import SqliteStore
from healer.store.audit_key import process_audit_key
from healer.store.chain import event_hash

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

KINDS = ["incident_opened", "diagnosed", "cost_estimated", "governance_decided", "closed"]


def raw_sql(db_path: Path, *statements: str) -> None:
    """Tamper with the database through a connection of its own, as an intruder would."""
    with sqlite3.connect(db_path) as db:
        for statement in statements:
            db.execute(statement)


def append_five(store: SqliteStore, incident_id: str = "inc-1") -> None:
    for n, kind in enumerate(KINDS):
        store.append(incident_id, kind, "system", {"n": n}, at=T0 + timedelta(seconds=n))


def test_sql_update_and_delete_are_refused_by_triggers(
    file_store: SqliteStore, db_path: Path
) -> None:
    append_five(file_store)

    with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE refused"):
        raw_sql(db_path, "UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE refused"):
        raw_sql(db_path, "DELETE FROM audit WHERE seq = 2")
    assert file_store.verify().ok


def test_altered_event_is_named_by_incident_and_seq(file_store: SqliteStore, db_path: Path) -> None:
    append_five(file_store)
    append_five(file_store, "inc-2")

    raw_sql(
        db_path,
        "DROP TRIGGER audit_no_update",
        """UPDATE audit SET data = '{"n":99}' WHERE incident_id = 'inc-1' AND seq = 3""",
    )

    report = file_store.verify()
    assert not report.ok
    assert (report.incidents_checked, report.events_checked) == (2, 10)
    assert [(p.incident_id, p.seq, p.kind, p.problem) for p in report.problems] == [
        (None, None, None, "trigger audit_no_update was removed"),
        ("inc-1", 3, "cost_estimated", "hash mismatch: event was altered"),
    ]
    assert [p.incident_id for p in file_store.verify("inc-2").problems] == [None]


def test_altered_and_rehashed_event_breaks_the_next_link(
    file_store: SqliteStore, db_path: Path
) -> None:
    append_five(file_store)
    forged = file_store.events("inc-1")[2].model_copy(update={"data": {"n": 99}})
    forged_hash = event_hash(
        process_audit_key().secret(),  # even with the key, the next link breaks
        forged.gseq,
        forged.incident_id,
        forged.seq,
        forged.kind,
        forged.actor,
        forged.at,
        forged.data,
        forged.prev_hash,
    )

    raw_sql(
        db_path,
        "DROP TRIGGER audit_no_update",
        f"""UPDATE audit SET data = '{{"n":99}}', hash = '{forged_hash}' WHERE seq = 3""",
    )

    _, problem = file_store.verify("inc-1").problems
    assert (problem.seq, problem.kind) == (4, "governance_decided")
    assert problem.problem == "prev_hash does not match log #3"


def test_deleted_middle_event_is_reported_as_a_gap(file_store: SqliteStore, db_path: Path) -> None:
    append_five(file_store)

    raw_sql(db_path, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = 3")

    report = file_store.verify("inc-1")
    assert not report.ok and report.events_checked == 4
    assert [str(p) for p in report.problems] == [
        "audit log: trigger audit_no_delete was removed",
        "log #3: 1 event missing (deleted)",
        "inc-1 #3 (?): sequence gap: event missing",
    ]


def test_deleted_first_event_is_reported(file_store: SqliteStore, db_path: Path) -> None:
    append_five(file_store)

    raw_sql(db_path, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = 1")

    assert [str(p) for p in file_store.verify().problems] == [
        "audit log: trigger audit_no_delete was removed",
        "log #1: 1 event missing (deleted)",
        "inc-1 #1 (?): sequence gap: event missing",
    ]


def test_unreadable_event_is_reported_not_fatal(file_store: SqliteStore, db_path: Path) -> None:
    append_five(file_store)

    raw_sql(
        db_path,
        "DROP TRIGGER audit_no_update",
        "UPDATE audit SET data = 'not json', at = 'yesterday' WHERE seq = 2",
    )

    report = file_store.verify()
    assert [(p.seq, p.problem) for p in report.problems] == [
        (None, "trigger audit_no_update was removed"),
        (2, "hash mismatch: event was altered"),
    ]


def test_reopening_restores_dropped_triggers(file_store: SqliteStore, db_path: Path) -> None:
    append_five(file_store)
    raw_sql(db_path, "DROP TRIGGER audit_no_update")

    reopened = SqliteStore(db_path)

    with pytest.raises(sqlite3.IntegrityError):
        raw_sql(db_path, "UPDATE audit SET actor = 'mallory'")
    (problem,) = reopened.verify().problems
    assert "audit_no_update was missing when the store was opened" in problem.problem
    reopened.close()
