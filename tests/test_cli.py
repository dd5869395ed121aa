"""The `healer` command: the demo, the audit check and its tamper detection, approvals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healer.cli import app
from healer.store import SqliteStore

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "healer.db"
    monkeypatch.setenv("HEALER_STORE_PATH", str(db))
    monkeypatch.setenv("HEALER_APPROVERS", '["U024BE7LH"]')
    monkeypatch.chdir(tmp_path)
    return db


def test_demo_replays_both_examples_and_verifies_the_audit_trail(env: Path) -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "resolved" in result.output
    assert "10 × m5.xlarge × $0.192/h × 24 h = $46.08" in result.output
    assert "[ Approve ]  [ Reject ]" in result.output
    assert "audit verified" in result.output


def test_audit_verify_names_the_incident_and_event_that_was_altered(env: Path) -> None:
    assert runner.invoke(app, ["demo", "--case", "dev-disk-full-web"]).exit_code == 0
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0

    with sqlite3.connect(env) as db:
        triggers = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
        for name in triggers:
            db.execute(f"DROP TRIGGER {name}")
        incident_id = db.execute("SELECT incident_id FROM audit LIMIT 1").fetchone()[0]
        db.execute(
            "UPDATE audit SET data = replace(data, 'clear_disk_space', 'restart_instance') "
            "WHERE kind = 'action_started'"
        )
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert incident_id in result.output
    assert "action_started" in result.output and "altered" in result.output


def test_audit_verify_names_a_deleted_event_a_deleted_digest_and_a_removed_trigger(
    env: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["demo", "--case", "dev-disk-full-web"]).exit_code == 0
    digests = sorted((tmp_path / ".healer" / "audit-digests").glob("*.json"))
    assert len(digests) >= 2
    assert (tmp_path / ".healer" / "audit.key").stat().st_mode & 0o777 == 0o600

    digests[0].unlink()
    with sqlite3.connect(env) as db:
        db.execute("DROP TRIGGER audit_no_delete")
        incident_id, seq = db.execute(
            "SELECT incident_id, seq FROM audit WHERE kind = 'diagnosed'"
        ).fetchone()
        db.execute("DELETE FROM audit WHERE kind = 'diagnosed'")
    result = runner.invoke(app, ["audit", "verify"])

    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"{incident_id} #{seq} (?): sequence gap: event missing" in output
    assert "digest 000001 missing (deleted)" in output
    assert "trigger audit_no_delete was missing when the store was opened" in output


def test_audit_verify_with_another_key_fails(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["demo", "--case", "dev-disk-full-web"]).exit_code == 0
    monkeypatch.setenv("HEALER_AUDIT_KEY", "x" * 32)

    result = runner.invoke(app, ["audit", "verify"])

    assert result.exit_code == 1
    assert "signed head invalid" in " ".join(result.output.split())
    assert "x" * 32 not in result.output


def test_a_store_of_an_older_schema_is_refused_with_what_to_do(env: Path) -> None:
    with sqlite3.connect(env) as db:
        db.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY)")
        db.execute("PRAGMA user_version = 1")

    result = runner.invoke(app, ["audit", "verify"])

    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert f"store {env}: schema 1, this healer needs schema 2" in output
    assert f"delete {env.parent}/" in output


def test_an_incident_left_waiting_is_approved_from_the_command_line(env: Path) -> None:
    case = Path(__file__).resolve().parents[1] / "evals" / "cases" / "dev-traffic-surge-api.yaml"
    result = runner.invoke(app, ["replay", str(case), "--wait"])
    assert result.exit_code == 0, result.output
    assert "waits for approval" in result.output
    incident_id = SqliteStore(env).list()[0].id

    refused = runner.invoke(app, ["approve", incident_id, "--as", "U0STRANGER"])
    assert refused.exit_code == 2 and "not an allowed approver" in refused.output

    approved = runner.invoke(app, ["approve", incident_id, "--as", "U024BE7LH"])
    assert approved.exit_code == 0, approved.output
    assert "resolved" in runner.invoke(app, ["incidents", "show", incident_id]).output


def test_an_unknown_case_is_a_clear_error(env: Path) -> None:
    result = runner.invoke(app, ["demo", "--case", "no-such-case"])
    assert result.exit_code == 2
    assert "dev-disk-full-web" in result.output  # lists what exists
