"""The model factory for Anthropic and OpenAI-compatible servers, and the checks made before a
run: missing keys, unreachable endpoints, refused keys and unknown models, each one line that
never repeats the key."""

from __future__ import annotations

import socket

import pytest
from fakes.llm_servers import FakeAnthropicAPI, FakeOpenAIAPI
from strands.models.anthropic import AnthropicModel
from strands.models.openai import OpenAIModel

from agents.model_check import check_model, describe_model_failure
from agents.models import DEFAULT_ANTHROPIC_MODEL, LOCAL_SERVER_KEY, build_model
from healer.config import HealerSettings
from healer.errors import ConfigError, ModelUnavailable

KEY = "sk-test-4f9a0c1d2e3b"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_anthropic_takes_its_key_from_the_environment_and_its_endpoint_from_settings() -> None:
    model = build_model(
        "anthropic:claude-test-1",
        base_url="http://127.0.0.1:9",
        environ={"ANTHROPIC_API_KEY": KEY},
    )

    assert isinstance(model, AnthropicModel)
    config = model.get_config()
    assert config["model_id"] == "claude-test-1"
    assert config["max_tokens"] == 4096 and config["params"] == {"temperature": 0.0}
    assert model.client.api_key == KEY
    assert str(model.client.base_url).startswith("http://127.0.0.1:9")
    assert KEY not in repr(config)


def test_anthropic_without_a_model_id_uses_the_default_model() -> None:
    model = build_model("anthropic", environ={"ANTHROPIC_API_KEY": KEY})

    assert model.get_config()["model_id"] == DEFAULT_ANTHROPIC_MODEL


def test_an_openai_compatible_model_keeps_the_colons_of_its_name() -> None:
    model = build_model(
        "openai:llama3.1:8b", base_url="http://127.0.0.1:11434/v1", environ={"OPENAI_API_KEY": KEY}
    )

    assert isinstance(model, OpenAIModel)
    assert model.get_config()["model_id"] == "llama3.1:8b"
    assert model.get_config()["params"] == {"temperature": 0.0, "max_tokens": 4096}
    assert model.client_args["base_url"] == "http://127.0.0.1:11434/v1"
    assert model.client_args["api_key"] == KEY


def test_a_local_openai_compatible_server_needs_no_key() -> None:
    model = build_model("openai:qwen2.5:7b", base_url="http://127.0.0.1:8080/v1", environ={})

    assert isinstance(model, OpenAIModel)
    assert model.client_args["api_key"] == LOCAL_SERVER_KEY


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("anthropic:claude-test-1", "ANTHROPIC_API_KEY"),
        ("openai:gpt-4o", "OPENAI_API_KEY"),
        ("openai", "openai:gpt-4o"),
        ("gemini:pro", "unknown model 'gemini:pro'"),
    ],
)
def test_what_is_missing_is_a_configuration_error_naming_it(name: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        build_model(name, environ={})


def test_the_endpoint_settings_follow_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALER_OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("HEALER_ANTHROPIC_BASE_URL", "http://127.0.0.1:8081")
    settings = HealerSettings(model="openai:llama3.1:8b")

    assert settings.model_base_url() == "http://127.0.0.1:11434/v1"
    assert settings.model_base_url("anthropic:claude-test-1") == "http://127.0.0.1:8081"
    assert settings.model_base_url("offline") is None


def test_a_reachable_endpoint_that_accepts_the_key_and_knows_the_model_passes() -> None:
    with FakeAnthropicAPI(api_key=KEY, models=("claude-test-1",)) as anthropic_api:
        check_model(
            "anthropic:claude-test-1",
            base_url=anthropic_api.base_url,
            environ={"ANTHROPIC_API_KEY": KEY},
        )
    with FakeOpenAIAPI(api_key=KEY) as openai_api:
        check_model("openai:gpt-4o", base_url=openai_api.base_url, environ={"OPENAI_API_KEY": KEY})

    assert anthropic_api.served.probes == ["/v1/models/claude-test-1"]
    assert openai_api.served.probes == ["/v1/models"]
    assert anthropic_api.served.requests == openai_api.served.requests == []  # no tokens spent


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_an_unreachable_endpoint_is_named_without_its_credentials(provider: str) -> None:
    port = closed_port()
    url = f"http://user:hunter2@127.0.0.1:{port}" + ("/v1" if provider == "openai" else "")
    env = {"ANTHROPIC_API_KEY": KEY, "OPENAI_API_KEY": KEY}

    with pytest.raises(
        ModelUnavailable, match=f"cannot reach the .* API at http://127.0.0.1:{port}"
    ):
        check_model(f"{provider}:m", base_url=url, environ=env)


def test_a_refused_key_and_an_unknown_model_say_so_and_never_repeat_the_key() -> None:
    with FakeAnthropicAPI(api_key="the-right-key", models=("claude-test-1",)) as api:
        with pytest.raises(ModelUnavailable) as refused:
            check_model(
                "anthropic:claude-test-1", base_url=api.base_url, environ={"ANTHROPIC_API_KEY": KEY}
            )
        with pytest.raises(ModelUnavailable) as unknown:
            check_model(
                "anthropic:claude-nope",
                base_url=api.base_url,
                environ={"ANTHROPIC_API_KEY": "the-right-key"},
            )

    assert "refused the API key in ANTHROPIC_API_KEY (401)" in str(refused.value)
    assert KEY not in str(refused.value)
    assert "has no model 'claude-nope'" in str(unknown.value)


def test_a_provider_error_during_a_run_is_one_line_without_the_key() -> None:
    import openai

    with FakeOpenAIAPI(fail_with=400) as api:
        client = openai.OpenAI(api_key=KEY, base_url=api.base_url, max_retries=0)
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": KEY}])
    error = RuntimeError("the agent failed")
    error.__cause__ = raised.value

    line = describe_model_failure(error, {"OPENAI_API_KEY": KEY})

    assert line.startswith(f"the OpenAI-compatible API at {api.base_url} answered 400: ")
    assert "\n" not in line
    assert describe_model_failure(ValueError("a bug of ours")) == ""


def test_a_failure_line_never_repeats_a_key_even_when_the_error_does() -> None:
    import httpx
    import openai

    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    error = openai.APIConnectionError(message=f"proxy said: bad key {KEY}\nretry", request=request)

    line = describe_model_failure(error, {"OPENAI_API_KEY": KEY})

    assert line == (
        "cannot reach the OpenAI-compatible API at http://127.0.0.1:1/v1: "
        "proxy said: bad key *** retry"
    )
