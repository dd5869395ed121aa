"""Tampering with the audit log, its signed head and its digest files is detected and named.

Each test tampers as an intruder with write access to the database (and to the digest
directory) but without the audit key would: through a connection of its own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healer.errors import ConfigError
from healer.store import AuditReport, LocalDigestDirectory, SqliteStore, StaticAuditKey
from healer.store.chain import event_hash

KEY = StaticAuditKey(b"k" * 32)
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
INC_1 = ["incident_opened", "diagnosed", "cost_estimated", "governance_decided", "closed"]
INC_2 = ["incident_opened", "diagnosed", "approval_requested", "approved"]


def ticking_clock() -> Iterator[datetime]:
    n = 0
    while True:
        n += 1
        yield T0 + timedelta(seconds=n)


def open_store(db_path: Path, digest_dir: Path, key: StaticAuditKey = KEY) -> SqliteStore:
    return SqliteStore(
        db_path,
        clock=ticking_clock().__next__,
        audit_key=key,
        digests=LocalDigestDirectory(digest_dir),
        digest_every=4,
    )


@pytest.fixture
def digest_dir(tmp_path: Path) -> Path:
    return tmp_path / "digests"


@pytest.fixture
def log(db_path: Path, digest_dir: Path) -> Iterator[SqliteStore]:
    """inc-1 (log #1-#5, closed) then inc-2 (log #6-#9, open).

    Digests are written at #1 (first event), #4 (every 4), #5 (closed) and #8 (every 4);
    #9 comes after the last digest.
    """
    with open_store(db_path, digest_dir) as store:
        for incident_id, kinds in (("inc-1", INC_1), ("inc-2", INC_2)):
            for n, kind in enumerate(kinds):
                store.append(incident_id, kind, "system", {"n": n}, at=T0 + timedelta(seconds=n))
        yield store


def raw_sql(db_path: Path, *statements: str) -> None:
    with sqlite3.connect(db_path) as db:
        for statement in statements:
            db.execute(statement)


def without_triggers(db_path: Path, *statements: str) -> None:
    raw_sql(db_path, "DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete", *statements)


def lines(report: AuditReport) -> list[str]:
    return [str(problem) for problem in report.problems]


def reported(report: AuditReport, text: str) -> bool:
    return any(text in line for line in lines(report))


def rechain(db_path: Path, key: bytes | None, from_gseq: int) -> None:
    """Rewrite every hash from `from_gseq` on, HMAC with `key` or plain SHA-256 if None."""
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM audit ORDER BY gseq").fetchall()
        prev = rows[from_gseq - 2]["hash"] if from_gseq > 1 else "0" * 64
        for row in rows[from_gseq - 1 :]:
            fields = (
                row["gseq"],
                row["incident_id"],
                row["seq"],
                row["kind"],
                row["actor"],
                datetime.fromisoformat(row["at"]),
                json.loads(row["data"]),
                prev,
            )
            if key is None:
                digest = hashlib.sha256(repr(fields).encode()).hexdigest()
            else:
                digest = event_hash(key, *fields)
            db.execute(
                "UPDATE audit SET prev_hash = ?, hash = ? WHERE gseq = ?",
                (prev, digest, row["gseq"]),
            )
            prev = digest


def digest_files(digest_dir: Path) -> list[Path]:
    return sorted(digest_dir.glob("*.json"))


def test_an_untouched_log_verifies_with_its_digests(log: SqliteStore, digest_dir: Path) -> None:
    report = log.verify()

    assert report.ok, lines(report)
    assert (report.incidents_checked, report.events_checked, report.digests_checked) == (2, 9, 4)
    heads = [json.loads(p.read_text())["head_gseq"] for p in digest_files(digest_dir)]
    assert heads == [1, 4, 5, 8]


def test_an_edited_event_is_named(log: SqliteStore, db_path: Path) -> None:
    without_triggers(db_path, """UPDATE audit SET data = '{"n":99}' WHERE gseq = 3""")

    report = log.verify()

    assert not report.ok
    assert "inc-1 #3 (cost_estimated), log #3: hash mismatch: event was altered" in lines(report)


def test_a_deleted_middle_event_is_named(log: SqliteStore, db_path: Path) -> None:
    without_triggers(db_path, "DELETE FROM audit WHERE gseq = 7")

    report = log.verify()

    assert "inc-2 #2 (?): sequence gap: event missing" in lines(report)
    assert "log #7: 1 event missing (deleted)" in lines(report)


def test_reordered_events_are_detected(log: SqliteStore, db_path: Path) -> None:
    without_triggers(
        db_path,
        "UPDATE audit SET gseq = 1000 WHERE gseq = 2",
        "UPDATE audit SET gseq = 2 WHERE gseq = 6",
        "UPDATE audit SET gseq = 6 WHERE gseq = 1000",
    )

    report = log.verify()

    assert reported(report, "inc-2 #1 (incident_opened), log #2: out of order")
    assert reported(report, "inc-1 #2 (diagnosed), log #6: out of order")


def test_a_tail_after_the_last_digest_removed_is_detected(log: SqliteStore, db_path: Path) -> None:
    without_triggers(db_path, "DELETE FROM audit WHERE gseq = 9")

    report = log.verify()

    assert "audit log: tail truncated: the signed head is at #9, the log ends at #8" in lines(
        report
    )


def test_a_log_shorter_than_a_digest_says_is_detected(log: SqliteStore, db_path: Path) -> None:
    without_triggers(db_path, "DELETE FROM audit WHERE gseq >= 8", "DELETE FROM audit_head")

    report = log.verify()

    assert reported(report, "tail truncated: the log ends at #7, digest 000004 covers #8")
    assert reported(report, "signed head missing")


@pytest.mark.parametrize("key", [None, b"w" * 32], ids=["unkeyed-sha256", "wrong-key"])
def test_a_rechained_log_is_detected(log: SqliteStore, db_path: Path, key: bytes | None) -> None:
    without_triggers(db_path, """UPDATE audit SET data = '{"n":99}' WHERE gseq = 3""")
    rechain(db_path, key, from_gseq=3)

    report = log.verify()

    assert "inc-1 #3 (cost_estimated), log #3: hash mismatch: event was altered" in lines(report)
    assert reported(report, "log #4: does not match digest 000002: the log was re-chained")


def test_a_whole_forged_log_is_detected(db_path: Path, digest_dir: Path) -> None:
    with open_store(db_path, digest_dir) as store:
        store.append("inc-1", "incident_opened", "system", {})
        store.append("inc-1", "closed", "system", {})
    db_path.unlink()
    forger = SqliteStore(db_path, audit_key=StaticAuditKey(b"f" * 32))
    forger.append("inc-1", "incident_opened", "system", {"forged": True})
    forger.append("inc-1", "closed", "system", {})
    forger.close()

    with open_store(db_path, digest_dir) as store:
        report = store.verify()

    assert reported(report, "inc-1 #1 (incident_opened), log #1: hash mismatch")
    assert reported(report, "signed head invalid")
    assert reported(report, "does not match digest 000001: the log was re-chained or forged")


def test_a_deleted_incident_is_named(log: SqliteStore, db_path: Path) -> None:
    without_triggers(db_path, "DELETE FROM audit WHERE incident_id = 'inc-1'")

    report = log.verify()

    assert reported(report, "inc-1: incident deleted: digest 000003 covers it up to #5")
    assert "log #1: 5 events missing up to #5 (deleted)" in lines(report)


def test_a_deleted_digest_is_detected(log: SqliteStore, digest_dir: Path) -> None:
    digest_files(digest_dir)[1].unlink()

    report = log.verify()

    assert "audit log: digest 000002 missing (deleted)" in lines(report)


def test_the_latest_digest_deleted_is_detected(log: SqliteStore, digest_dir: Path) -> None:
    digest_files(digest_dir)[-1].unlink()

    report = log.verify()

    assert reported(report, "the signed head names digest 000004; the newest found is 000003")


def test_an_edited_digest_is_detected(log: SqliteStore, digest_dir: Path) -> None:
    path = digest_files(digest_dir)[2]
    body = json.loads(path.read_text())
    body["incidents"] = {}
    path.write_text(json.dumps(body))

    report = log.verify()

    assert reported(report, f"digest {path.stem}: signature invalid")
    assert reported(report, "digest 000004: previous digest")


def test_a_missing_digest_directory_is_reported(log: SqliteStore, digest_dir: Path) -> None:
    shutil.rmtree(digest_dir)

    report = log.verify()

    assert reported(report, f"no digest in {digest_dir}")


def test_an_empty_log_without_digests_verifies(db_path: Path, digest_dir: Path) -> None:
    with open_store(db_path, digest_dir) as store:
        assert store.verify().ok


def test_a_removed_trigger_is_detected(log: SqliteStore, db_path: Path) -> None:
    raw_sql(db_path, "DROP TRIGGER audit_no_delete")

    report = log.verify()

    assert lines(report) == ["audit log: trigger audit_no_delete was removed"]


def test_a_trigger_removed_while_closed_is_reported_after_reopening_every_time(
    log: SqliteStore, db_path: Path, digest_dir: Path
) -> None:
    log.close()
    raw_sql(db_path, "DROP TRIGGER audit_no_update")

    for _ in range(2):
        with open_store(db_path, digest_dir) as reopened:
            report = reopened.verify()
        assert len(report.problems) == 1
        assert reported(report, "trigger audit_no_update was missing when the store was opened")
        assert reported(report, "(restored)")


def test_a_database_of_an_older_schema_is_refused(db_path: Path) -> None:
    raw_sql(
        db_path,
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, incident_id TEXT, seq INTEGER)",
        "PRAGMA user_version = 1",
    )

    with pytest.raises(ConfigError, match=rf"{db_path}.*schema 1.*delete"):
        SqliteStore(db_path)
