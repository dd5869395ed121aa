"""`healer eval --model …` and `healer demo --model …` when the model cannot serve: one
`error:` line, exit code 2, no traceback, nothing run, and never the key."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fakes.llm_servers import FakeOpenAIAPI
from typer.testing import CliRunner

from healer.cli import app
from healer.eval_command import baseline_for

KEY = "sk-test-9b8a7f6e5d4c"
runner = CliRunner()


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "HEALER_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HEALER_STORE_PATH", str(tmp_path / "healer.db"))
    monkeypatch.setenv("HEALER_APPROVERS", '["U024BE7LH"]')
    monkeypatch.chdir(tmp_path)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error: ") and "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("command", ["eval", "demo"])
@pytest.mark.parametrize(
    ("model", "said"),
    [
        (
            "anthropic:claude-test-1",
            "needs an API key in the environment variable ANTHROPIC_API_KEY",
        ),
        ("openai:gpt-4o", "needs an API key in the environment variable OPENAI_API_KEY"),
        ("gemini:pro", "unknown model 'gemini:pro'"),
    ],
)
def test_a_missing_key_or_an_unknown_provider_is_one_line_and_runs_nothing(
    command: str, model: str, said: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, [command, "--model", model])

    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert said in line and line.endswith("Nothing was run.")
    assert not (tmp_path / "healer.db").exists()


def test_a_replay_with_a_configured_model_and_no_key_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HEALER_MODEL", "anthropic:claude-test-1")
    case = Path(__file__).resolve().parents[1] / "evals" / "cases" / "dev-disk-full-web.yaml"

    result = runner.invoke(app, ["replay", str(case)])

    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in one_error_line(result.output)
    assert not (tmp_path / "healer.db").exists()


@pytest.mark.parametrize("command", ["eval", "demo"])
def test_an_unreachable_endpoint_is_one_line(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv("HEALER_OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")

    result = runner.invoke(app, [command, "--model", "openai:llama3.1:8b"])

    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert f"cannot reach the OpenAI-compatible API at http://127.0.0.1:{port}/v1" in line


def test_a_refused_key_is_one_line_that_does_not_repeat_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAIAPI(api_key="the-right-key") as api:
        monkeypatch.setenv("HEALER_OPENAI_BASE_URL", api.base_url)
        result = runner.invoke(app, ["eval", "--model", "openai:gpt-4o"])

    assert result.exit_code == 2
    assert "refused the API key in OPENAI_API_KEY (401)" in one_error_line(result.output)
    assert KEY not in result.output and api.served.requests == []


def test_a_model_failing_during_the_demo_stops_it_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAIAPI(fail_with=400) as api:
        monkeypatch.setenv("HEALER_OPENAI_BASE_URL", api.base_url)
        result = runner.invoke(
            app, ["demo", "--case", "dev-disk-full-web", "--model", "openai:gpt-4o"]
        )

    assert result.exit_code == 2 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(
        f"error: model: the OpenAI-compatible API at {api.base_url} answered 400"
    )
    assert last.endswith("The run was stopped.")
    assert len(api.served.requests) == 1 and KEY not in result.output


@pytest.mark.parametrize(
    ("model", "requested", "compared_with"),
    [
        ("offline", None, None),
        ("openai:llama3.1:8b", None, "offline"),
        ("openai:llama3.1:8b", "none", None),
        ("openai:llama3.1:8b", "openai:llama3.1:8b", None),
        ("openai:llama3.1:8b", "anthropic:claude-test-1", "anthropic:claude-test-1"),
    ],
)
def test_a_model_is_compared_with_the_offline_baseline_unless_told_otherwise(
    model: str, requested: str | None, compared_with: str | None
) -> None:
    assert baseline_for(model, requested) == compared_with
