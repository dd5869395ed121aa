"""`healer kb index | search | eval` through typer's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healer.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temp folder so `.healer/kb` lands there; no remote backend configured."""
    monkeypatch.chdir(tmp_path)
    for name in ("HEALER_KB_ID", "HEALER_OPENSEARCH_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_index_builds_and_saves_under_dot_healer(workdir: Path) -> None:
    result = runner.invoke(app, ["kb", "index"])

    assert result.exit_code == 0, result.output
    assert re.search(r"indexed \d+ runbooks, \d+ chunks", result.output)
    saved = list((workdir / ".healer" / "kb").iterdir())
    assert len(saved) == 1 and (saved[0] / "manifest.json").exists()


def test_search_prints_ranked_runbooks_with_scores_and_matching_lines() -> None:
    result = runner.invoke(
        app, ["kb", "search", "sshd Failed password for invalid user root", "--k", "2"]
    )

    assert result.exit_code == 0, result.output
    assert "1. ssh-brute-force-escalate" in result.output
    assert "score" in result.output
    assert "Failed password" in result.output
    assert "3. " not in result.output


def test_search_filters_by_category_and_action() -> None:
    result = runner.invoke(
        app,
        [
            "kb",
            "search",
            "server is down",
            "--category",
            "instance_failure",
            "--action",
            "restart_instance",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "1. instance-unresponsive-restart" in result.output
    assert "2. " not in result.output


@pytest.mark.parametrize(
    ("backend", "variable"), [("bedrock", "HEALER_KB_ID"), ("opensearch", "HEALER_OPENSEARCH_URL")]
)
def test_a_remote_backend_without_configuration_says_so(backend: str, variable: str) -> None:
    result = runner.invoke(app, ["kb", "search", "disk full", "--backend", backend])

    assert result.exit_code == 2
    assert "not configured" in result.output and variable in result.output


def test_eval_json_reports_every_retriever_and_meets_the_targets() -> None:
    result = runner.invoke(app, ["kb", "eval", "--json"])

    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["meets_targets"] is True
    assert [r["name"] for r in out["reports"]] == ["hybrid", "bm25", "embeddings"]
    for report in out["reports"]:
        assert {"recall_at_1", "recall_at_3", "mrr", "p50_ms", "p95_ms"} <= report.keys()
    human = out["human"]
    assert human["queries"] >= 40 and human["unrelated_found"] == []
    assert 0 < human["recall_at_3"] <= 1


def test_eval_names_an_unrelated_query_that_finds_a_runbook(tmp_path: Path) -> None:
    human = tmp_path / "human.yaml"
    human.write_text(
        "queries:\n  - {query: disk full, expected: [disk-full-runaway-logs]}\n"
        "unrelated: [banana smoothie recipe, No space left on device]\n"
    )
    result = runner.invoke(app, ["kb", "eval", "--human", str(human)])

    assert result.exit_code == 0, result.output
    assert "1 of 2 unrelated queries found nothing" in result.output
    assert "unrelated query found a runbook: No space left on device" in result.output


def test_eval_prints_a_table() -> None:
    result = runner.invoke(app, ["kb", "eval"])

    assert result.exit_code == 0, result.output
    assert "recall@3" in result.output and "embeddings" in result.output


def test_an_unrelated_query_finds_nothing() -> None:
    result = runner.invoke(app, ["kb", "search", "banana smoothie recipe"])

    assert result.exit_code == 0, result.output
    assert "no runbook matches" in result.output and "score" not in result.output


def test_an_unknown_category_is_an_error_naming_it() -> None:
    result = runner.invoke(app, ["kb", "search", "disk full", "--category", "disk_ful"])

    assert result.exit_code == 2
    assert "disk_ful" in result.output and "Traceback" not in result.output
