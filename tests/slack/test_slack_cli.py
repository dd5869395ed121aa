"""`healer demo --print-slack | --slack`, `healer slack serve` and `healer slack manifest`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fakes.slack_api import FakeSlack, block_problems
from typer.testing import CliRunner

from healer.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEALER_STORE_PATH", str(tmp_path / "healer.db"))
    monkeypatch.setenv("HEALER_APPROVERS", '["U024BE7LH"]')
    for name in ("BOT_TOKEN", "SIGNING_SECRET", "APP_TOKEN", "CHANNEL"):
        monkeypatch.delenv(f"HEALER_SLACK_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def test_print_slack_shows_exactly_the_message_slack_would_be_sent(env: Path) -> None:
    result = runner.invoke(app, ["demo", "--case", "dev-traffic-surge-api", "--print-slack"])

    assert result.exit_code == 0, result.output
    start = result.output.index('{\n  "method"')
    sent, _ = json.JSONDecoder().raw_decode(result.output[start:])
    assert sent["method"] == "chat.postMessage" and sent["text"]
    assert block_problems(sent["blocks"]) == []
    buttons = [e for b in sent["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) == 2 and len({b["value"] for b in buttons}) == 1
    assert buttons[0]["value"].startswith("apr-")


def test_demo_slack_posts_the_approval_request_to_the_configured_channel(
    env: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALER_SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("HEALER_SLACK_CHANNEL", "C0HEALER")
    monkeypatch.setenv("HEALER_SLACK_API_URL", fake_slack.url)

    result = runner.invoke(app, ["demo", "--case", "dev-traffic-surge-api", "--slack"])

    assert result.exit_code == 0, result.output
    (posted,) = [m for m in fake_slack.called("chat.postMessage") if m.get("blocks")]
    assert posted["channel"] == "C0HEALER" and "$46.08" in json.dumps(posted["blocks"])
    assert fake_slack.calls[-1].token == "xoxb-test"
    assert "xoxb-test" not in result.output
    assert fake_slack.problems == []
    threads = [m for m in fake_slack.called("chat.postMessage") if m.get("thread_ts")]
    assert any("*closed*" in m["text"] for m in threads)  # the incident's timeline, in its thread


def test_demo_slack_without_a_token_names_what_is_missing(env: Path) -> None:
    result = runner.invoke(app, ["demo", "--case", "dev-traffic-surge-api", "--slack"])

    assert result.exit_code == 2
    assert "HEALER_SLACK_BOT_TOKEN" in result.output and "Traceback" not in result.output


def test_slack_serve_without_secrets_names_each_missing_setting(env: Path) -> None:
    result = runner.invoke(app, ["slack", "serve"])

    assert result.exit_code == 2
    for name in ("HEALER_SLACK_BOT_TOKEN", "HEALER_SLACK_CHANNEL", "HEALER_SLACK_SIGNING_SECRET"):
        assert name in result.output


def test_the_manifest_asks_for_exactly_the_scopes_the_app_uses(env: Path) -> None:
    result = runner.invoke(app, ["slack", "manifest"])

    manifest = yaml.safe_load(result.output)
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write",
        "commands",
        "app_mentions:read",
        "im:history",
        "usergroups:read",
    }
    assert manifest["features"]["slash_commands"][0]["command"] == "/healer"
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_mention",
        "message.im",
    }
