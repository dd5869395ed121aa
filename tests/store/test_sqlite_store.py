from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from healer.domain import Incident
from healer.errors import ToolUnavailable
from healer.store import (
    ApprovalStore,
    AuditLog,
    EventLedger,
    ExecutionLedger,
    IncidentStore,
    SqliteStore,
)

IncidentFactory = Callable[..., Incident]


def test_file_database_uses_wal_and_foreign_keys(file_store: SqliteStore, db_path: Path) -> None:
    assert file_store.journal_mode == "wal"
    with sqlite3.connect(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert file_store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_memory_database_works(store: SqliteStore, make_incident: IncidentFactory) -> None:
    store.save(make_incident("inc-1"))
    assert store.get("inc-1") is not None


def test_data_survives_reopening(db_path: Path, make_incident: IncidentFactory) -> None:
    with SqliteStore(db_path) as first:
        first.save(make_incident("inc-1"))
        first.append("inc-1", "incident_opened", "system", {"alarm": "cpu"})
        first.record("k1", "accepted", "", "inc-1", {})

    with SqliteStore(db_path) as second:
        assert second.get("inc-1") == make_incident("inc-1", version=1)
        assert second.seen("k1")
        assert second.verify().ok and second.verify().events_checked == 1


def test_store_satisfies_every_protocol(store: SqliteStore) -> None:
    for protocol in (IncidentStore, EventLedger, ApprovalStore, ExecutionLedger, AuditLog):
        assert isinstance(store, protocol), protocol.__name__


def test_concurrent_appends_from_threads_keep_one_chain(file_store: SqliteStore) -> None:
    def worker(name: str) -> None:
        for n in range(25):
            file_store.append("inc-1", "diagnosed", name, {"n": n})

    threads = [threading.Thread(target=worker, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [e.seq for e in file_store.events("inc-1")] == list(range(1, 101))
    assert file_store.verify().ok


def test_two_stores_on_one_file_share_the_chain(db_path: Path) -> None:
    with SqliteStore(db_path) as a, SqliteStore(db_path) as b:
        for n in range(6):
            (a if n % 2 else b).append("inc-1", "diagnosed", "system", {"n": n})

        assert [e.seq for e in a.events("inc-1")] == [1, 2, 3, 4, 5, 6]
        assert b.verify().ok


def test_locked_database_raises_tool_unavailable(
    db_path: Path, make_incident: IncidentFactory
) -> None:
    SqliteStore(db_path).close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with SqliteStore(db_path, timeout=0.05) as blocked, pytest.raises(ToolUnavailable):
            blocked.save(make_incident("inc-1"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_unopenable_path_raises_tool_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ToolUnavailable, match="cannot open"):
        SqliteStore(tmp_path / "missing-dir" / "healer.db")
