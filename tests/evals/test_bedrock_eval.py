"""`healer eval --model bedrock:…`: the whole harness through the real BedrockModel, offline.

Bedrock's Converse API is replaced by a loopback-free fake whose answers come from the offline
engine, so every request and response crosses BedrockModel's real formatting code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.models import build_model
from agents.offline.engine import _events, next_step
from evals.harness import run_eval
from evals.summary import check_thresholds
from healer.cli import app
from healer.config import HealerSettings

MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
EXAMPLES = ("dev-disk-full-web", "dev-traffic-surge-api")
CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"


class FakeStream:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._events = iter(events)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._events

    def close(self) -> None:
        """BedrockModel closes the stream when a run is cancelled."""


class FakeConverse:
    """Answers `converse_stream` like Bedrock, deciding with the offline engine."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        tools = [t["toolSpec"]["name"] for t in request.get("toolConfig", {}).get("tools", [])]
        events = _events(next_step(request["messages"], tools), len(self.requests))
        for event in events:
            if "metadata" in event:
                event["metadata"]["usage"] = {
                    "inputTokens": 100,
                    "outputTokens": 20,
                    "totalTokens": 120,
                }
        return {"stream": FakeStream(list(events))}


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    for case_id in EXAMPLES:
        (folder / f"{case_id}.yaml").write_text((CASES / f"{case_id}.yaml").read_text())
    return folder


def test_the_eval_runs_through_bedrock_requests(
    examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    converse = FakeConverse()

    def bedrock_with_fake_api(name: str, **kwargs: Any) -> Any:
        model = build_model(name, **kwargs)
        model.client.converse_stream = converse  # type: ignore[attr-defined]
        return model

    monkeypatch.setattr("healer.replay.build_model", bedrock_with_fake_api)
    settings = HealerSettings(model=f"bedrock:{MODEL_ID}", approvers=["U024BE7LH"])
    run = run_eval(examples, settings)

    assert {r["modelId"] for r in converse.requests} == {MODEL_ID}
    assert all(r["inferenceConfig"]["temperature"] == 0.0 for r in converse.requests)
    assert all(check.ok for check in check_thresholds(run.summary))
    assert run.summary.decision_accuracy == 1.0
    assert run.summary.tokens == 120 * len(converse.requests)
    assert run.summary.model_calls == len(converse.requests)


def test_without_credentials_bedrock_says_so_and_runs_nothing(
    examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    result = CliRunner().invoke(app, ["eval", "--cases", str(examples), "--model", "bedrock"])
    assert result.exit_code == 2
    assert "needs AWS credentials" in result.output and "Nothing was run" in result.output
