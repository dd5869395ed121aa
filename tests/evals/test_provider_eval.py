"""`healer eval --model anthropic:… | openai:…`: the real agent loop through the real providers.

strands' AnthropicModel and OpenAIModel, over the real `anthropic` and `openai` SDKs, talk HTTP
to loopback fakes of the Anthropic Messages API and the OpenAI Chat Completions API (streaming
SSE, tool calls in fragments). The fakes answer with the offline engine's moves, translated into
each wire format. What is asserted is what happened in the sandbox's world record and the case's
score, then what crossed the wire: the model, temperature 0, the tokens, and never the key.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fakes.llm_servers import FakeAnthropicAPI, FakeOpenAIAPI, FakeProviderServer
from typer.testing import CliRunner

from evals.harness import run_eval
from healer.cli import app
from healer.config import HealerSettings

CASE = "dev-disk-full-web"
CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-openai-test-fedcba9876543210"
PROVIDER_LOGGERS = ("anthropic", "openai", "httpx", "httpcore")


@pytest.fixture
def one_case(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / f"{CASE}.yaml").write_text((CASES / f"{CASE}.yaml").read_text())
    return folder


HEALED = [
    {
        "action": "clear_disk_space",
        "target": "i-0a1b2c3d4e5f60001",
        "params": {"paths": ["/var/log/app"], "older_than_days": 2},
    }
]


def test_a_case_heals_through_the_anthropic_messages_api_and_the_key_stays_secret(
    one_case: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    for name in PROVIDER_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    with FakeAnthropicAPI(api_key=ANTHROPIC_KEY) as fake:
        settings = HealerSettings(
            model="anthropic:claude-test-1",
            anthropic_base_url=fake.base_url,
            approvers=["U024BE7LH"],
        )
        run = run_eval(one_case, settings)

    [score] = run.scores
    # The world: exactly the runbook's cleanup ran on the full disk, without a human, and the
    # alarm recovered.
    assert score.observed.executed == HEALED
    assert score.passed and not score.unsafe_execution and not score.world_mismatch
    assert (score.observed.decision, score.observed.outcome) == ("auto_heal", "resolved")
    assert run.baseline is None
    _assert_wire("anthropic", fake, "claude-test-1", run.summary.model_dump())
    assert all(h["x-api-key"] == ANTHROPIC_KEY for h in fake.served.headers)
    assert caplog.records and ANTHROPIC_KEY not in caplog.text
    assert ANTHROPIC_KEY not in run.model_dump_json()


def _assert_wire(
    provider: str, fake: FakeProviderServer, model: str, summary: dict[str, Any]
) -> None:
    """Every agent's turns went to the API: deterministic, streamed, with the tools' results;
    the tokens counted are the tokens the API reported; no request body carries a key."""
    requests = fake.served.requests
    assert {r["model"] for r in requests} == {model}
    assert all(r["temperature"] == 0.0 and r["stream"] is True for r in requests)
    called = {name for r in requests for name in _tool_results(provider, r)}
    assert {"diagnose", "search_logs", "search_runbooks", "estimate_cost", "execute_action"} <= (
        called
    )
    assert summary["model_calls"] == len(requests)
    assert summary["input_tokens"] == fake.served.input_tokens > 0
    assert summary["output_tokens"] == fake.served.output_tokens > 0
    for key in (ANTHROPIC_KEY, OPENAI_KEY):
        assert not any(key in body for body in fake.served.raw_bodies)


def _tool_results(provider: str, request: dict[str, object]) -> list[str]:
    """Names of the tools whose results this request carries back to the model."""
    messages = request["messages"]
    assert isinstance(messages, list)
    names: dict[str, str] = {}
    answered = []
    for message in messages:
        if provider == "openai":
            for call in message.get("tool_calls") or []:
                names[call["id"]] = call["function"]["name"]
            if message["role"] == "tool":
                answered.append(names[message["tool_call_id"]])
        elif isinstance(message["content"], list):
            for block in message["content"]:
                if block["type"] == "tool_use":
                    names[block["id"]] = block["name"]
                elif block["type"] == "tool_result":
                    answered.append(names[block["tool_use_id"]])
    return answered


def test_the_cli_heals_through_an_openai_compatible_server_next_to_the_offline_baseline(
    one_case: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("HEALER_APPROVERS", '["U024BE7LH"]')
    for name in PROVIDER_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    report_dir = str(tmp_path / "report")
    with FakeOpenAIAPI(api_key=OPENAI_KEY, models=("qwen2.5:7b",)) as fake:
        monkeypatch.setenv("HEALER_OPENAI_BASE_URL", fake.base_url)
        result = CliRunner().invoke(
            app,
            [
                "eval",
                "--cases",
                str(one_case),
                "--model",
                "openai:qwen2.5:7b",
                "--report",
                report_dir,
            ],
        )

    assert result.exit_code == 0, result.output
    assert fake.served.probes == ["/v1/models"]  # checked before anything ran
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    [score] = report["scores"]
    assert score["observed"]["executed"] == HEALED
    assert (score["observed"]["decision"], score["observed"]["outcome"]) == (
        "auto_heal",
        "resolved",
    )
    _assert_wire("openai", fake, "qwen2.5:7b", report["summary"])
    assert all(h["authorization"] == f"Bearer {OPENAI_KEY}" for h in fake.served.headers)
    # Next to the offline baseline, replayed on the same cases: same accuracy, no tokens.
    assert report["model"] == "openai:qwen2.5:7b" and report["baseline"]["model"] == "offline"
    assert report["baseline"]["summary"]["decision_accuracy"] == 1.0
    markdown = (tmp_path / "report" / "report.md").read_text().splitlines()
    rows = {line.split(" | ")[0]: line for line in markdown if line.startswith("| o")}
    served = fake.served
    tokens = f"| 0 | {served.input_tokens} | {served.output_tokens} | {len(served.requests)} |"
    assert "| 100% | 100% | 100% | 100% " + tokens in rows["| openai:qwen2.5:7b"]
    assert "| 100% | 100% | 100% | 100% | 0 | 0 | 0 |" in rows["| offline"]
    assert "Model vs baseline" in (tmp_path / "report" / "report.html").read_text()
    assert "model vs baseline" in result.output  # an 80-column terminal shows both columns
    [tokens_line] = [line for line in result.output.splitlines() if "tokens in / out" in line]
    assert f"{served.input_tokens} / {served.output_tokens}" in tokens_line
    assert "0 / 0" in tokens_line
    for text in (
        result.output,
        caplog.text,
        *(p.read_text() for p in (tmp_path / "report").iterdir()),
    ):
        assert OPENAI_KEY not in text
