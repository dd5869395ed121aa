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
