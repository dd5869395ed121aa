"""The `healer` command: the demo, the audit check and its tamper detection, approvals."""

from __future__ import annotations

import json
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


def waiting_incident(env: Path) -> str:
    case = Path(__file__).resolve().parents[1] / "evals" / "cases" / "dev-traffic-surge-api.yaml"
    assert runner.invoke(app, ["replay", str(case), "--wait"]).exit_code == 0
    return SqliteStore(env).list()[0].id


def test_a_unique_id_prefix_names_an_incident_and_an_ambiguous_one_is_refused(env: Path) -> None:
    incident_id = waiting_incident(env)
    shown = runner.invoke(app, ["incidents", "show", incident_id[:-3]])
    assert shown.exit_code == 0 and incident_id in shown.output

    waiting_incident(env)
    ambiguous = runner.invoke(app, ["incidents", "show", "inc-"])
    assert ambiguous.exit_code == 2
    assert ambiguous.stderr.startswith("error: incident: inc- is the start of 2 incident ids")


def test_a_waiting_incident_is_closed_by_a_human_and_nothing_runs_after(env: Path) -> None:
    incident_id = waiting_incident(env)

    closed = runner.invoke(
        app, ["incidents", "close", incident_id, "--reason", "fixed by hand", "--as", "U1"]
    )
    assert closed.exit_code == 0, closed.output

    store = SqliteStore(env)
    incident = store.get(incident_id)
    assert incident is not None and incident.step.value == "done"
    assert incident.outcome is not None and incident.outcome.value == "closed"
    last = store.events(incident_id)[-1]
    assert (last.kind, last.actor, last.data["reason"]) == ("closed", "human:U1", "fixed by hand")
    late = runner.invoke(app, ["approve", incident_id, "--as", "U024BE7LH"])
    assert late.exit_code == 2 and "not waiting for approval" in late.stderr
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_an_expired_approval_expires_when_the_incident_is_read(env: Path) -> None:
    incident_id = waiting_incident(env)
    with sqlite3.connect(env) as db:
        db.execute("UPDATE approvals SET expires_at = '2000-01-01T00:00:00.000000+00:00'")

    shown = runner.invoke(app, ["incidents", "show", incident_id])

    assert shown.exit_code == 0
    assert "expired" in shown.output
    assert [e.kind for e in SqliteStore(env).events(incident_id)][-1] == "expired"


def test_resume_runs_a_stopped_incident_on_from_its_step(env: Path) -> None:
    result = runner.invoke(
        app, ["ingest", "-", "--sandbox", "dev-disk-full-web"], _sample("dev-disk-full-web")
    )
    assert result.exit_code == 0, result.output
    (incident,) = SqliteStore(env).list()

    resumed = runner.invoke(app, ["incidents", "resume", incident.id[:12]])

    assert resumed.exit_code == 0, resumed.output
    again = SqliteStore(env).get(incident.id)
    assert again is not None and again.outcome is not None and again.outcome.value == "resolved"
    done = runner.invoke(app, ["incidents", "resume", incident.id])
    assert done.exit_code == 2 and "nothing to resume" in done.stderr


def _sample(case: str) -> str:
    return (
        Path(__file__).resolve().parents[1] / "examples" / "events" / f"{case}.ndjson"
    ).read_text()


def test_version_and_debug(env: Path) -> None:
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("healer ")

    quiet = runner.invoke(app, ["incidents", "show", "inc-nothing"])
    loud = runner.invoke(app, ["--debug", "incidents", "show", "inc-nothing"])
    assert quiet.exit_code == loud.exit_code == 2
    assert "Traceback" not in quiet.stderr and "Traceback" in loud.stderr


def test_markup_in_an_alarm_name_is_shown_as_text(env: Path) -> None:
    from datetime import UTC, datetime

    from healer.domain import Incident

    store = SqliteStore(env)
    store.save(
        Incident(
            id="inc-markup",
            opened_at=datetime.now(UTC),
            account="1",
            region="r",
            alarms=["[/]"],
            resources=[],
        )
    )
    listed = runner.invoke(app, ["incidents", "list"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0, listed.output
    assert "[/]" in listed.output and "inc-markup" in listed.output


def test_shadow_to_human_fix_to_trust_and_costs_from_the_command_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HEALER_AUTONOMY_DEFAULT", "shadow")
    monkeypatch.setenv("HEALER_RUNBOOK_DRAFTS_DIR", str(tmp_path / "drafts"))
    demo = runner.invoke(app, ["demo", "--case", "dev-disk-full-web"])
    assert demo.exit_code == 0, demo.output
    assert "shadow mode: nothing was executed" in " ".join(demo.output.split())
    [incident_id] = [i.id for i in SqliteStore(env).list()]

    wrong = runner.invoke(app, ["incidents", "close", incident_id, "--fixed-by", "reboot"])
    neither = runner.invoke(app, ["incidents", "close", incident_id])
    untargeted = runner.invoke(
        app, ["incidents", "close", incident_id, "--fixed-by", "clear_disk_space"]
    )
    closed = runner.invoke(
        app,
        ["incidents", "close", incident_id, "--fixed-by", "clear_disk_space@i-0a1b2c3d4e5f60001"],
    )

    assert untargeted.exit_code == 2 and "clear_disk_space@TARGET" in untargeted.output
    assert wrong.exit_code == 2 and "'reboot' is not a catalog action" in wrong.output
    assert neither.exit_code == 2 and "--fixed-by" in neither.output
    assert closed.exit_code == 0 and "agrees with the shadow recommendation" in closed.output
    trust = runner.invoke(app, ["trust", "--json"])
    [row] = json.loads(trust.output)
    assert (row["action"], row["agreed"], row["trusted"], row["needs"]) == (
        "clear_disk_space",
        1,
        False,
        5,
    )
    assert "no action has added capacity yet" in runner.invoke(app, ["costs"]).output
    assert "no drafts" in runner.invoke(app, ["runbooks", "drafts"]).output


def test_costs_lists_the_scale_out_with_its_estimate_and_actual(env: Path) -> None:
    assert runner.invoke(app, ["demo", "--case", "dev-traffic-surge-api"]).exit_code == 0

    result = runner.invoke(app, ["costs", "--json"])

    [row] = json.loads(result.output)
    assert (row["estimate_usd"], row["final"], row["instances"]) == (46.08, True, 10)
    assert abs(row["actual_usd"] - 46.08) < 0.1
