"""The model factory: `offline` (the deterministic engine, default), `bedrock[:MODEL_ID]`,
`anthropic[:MODEL_ID]` (the Anthropic Messages API) and `openai:MODEL` (OpenAI or any
OpenAI-compatible server: vLLM, Ollama, llama.cpp's server).

API keys come from the environment (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`), are handed to the
provider's SDK and nothing else: they are never logged, never part of a prompt or an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strands.models.model import Model

from agents.offline.engine import OfflineEngine
from healer.errors import ConfigError

DEFAULT_BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"
DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-20250514"
PROVIDERS = ("offline", "bedrock", "anthropic", "openai")
USAGE = "use offline, bedrock[:MODEL_ID], anthropic[:MODEL_ID] or openai:MODEL"
MAX_TOKENS = 4096
TEMPERATURE = 0.0
REQUEST_TIMEOUT_SECONDS = 120.0
LOCAL_SERVER_KEY = "not-needed"
"""What the OpenAI SDK is given as a key for a server that needs none (Ollama, llama.cpp)."""


@dataclass(frozen=True)
class ModelName:
    """A configured model name, e.g. `anthropic:claude-sonnet-4-20250514`."""

    provider: str
    model_id: str

    @classmethod
    def parse(cls, name: str) -> ModelName:
        """Split `PROVIDER[:MODEL_ID]`; the model id keeps any further colons (`llama3.1:8b`)."""
        provider, _, model_id = name.strip().partition(":")
        if provider not in PROVIDERS:
            raise ConfigError(f"unknown model {name!r}: {USAGE}")
        if provider == "openai" and not model_id:
            raise ConfigError(
                "openai needs the name of the model your server serves, e.g. openai:gpt-4o or "
                "openai:llama3.1:8b"
            )
        defaults = {"bedrock": DEFAULT_BEDROCK_MODEL, "anthropic": DEFAULT_ANTHROPIC_MODEL}
        return cls(provider, model_id or defaults.get(provider, provider))

    def __str__(self) -> str:
        return self.provider if self.provider == "offline" else f"{self.provider}:{self.model_id}"


def anthropic_client_args(
    base_url: str | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Arguments of the Anthropic client: the key from `ANTHROPIC_API_KEY`, the base URL."""
    key = (environ if environ is not None else os.environ).get("ANTHROPIC_API_KEY", "").strip()
    if not key:
        raise ConfigError(
            "--model anthropic needs an API key in the environment variable ANTHROPIC_API_KEY; "
            "it is not set"
        )
    args: dict[str, Any] = {"api_key": key, "timeout": REQUEST_TIMEOUT_SECONDS}
    if base_url:
        args["base_url"] = base_url
    return args


def openai_client_args(
    base_url: str | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Arguments of the OpenAI client: the key from `OPENAI_API_KEY` (optional for a server at
    `HEALER_OPENAI_BASE_URL`, which may need none), the base URL."""
    key = (environ if environ is not None else os.environ).get("OPENAI_API_KEY", "").strip()
    if not key and not base_url:
        raise ConfigError(
            "--model openai needs an API key in the environment variable OPENAI_API_KEY, or the "
            "URL of an OpenAI-compatible server in HEALER_OPENAI_BASE_URL; neither is set"
        )
    args: dict[str, Any] = {"api_key": key or LOCAL_SERVER_KEY, "timeout": REQUEST_TIMEOUT_SECONDS}
    if base_url:
        args["base_url"] = base_url
    return args


def build_model(
    name: str,
    *,
    region: str = "us-east-1",
    boto_session: Any = None,
    base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Model:
    """A strands model from its configured name, e.g. `offline` or `anthropic:<model id>`.

    `base_url` is the endpoint of an Anthropic or OpenAI-compatible API (None: the SDK's own
    default). Every provider runs at temperature 0 with at most 4096 output tokens.

    Raises:
        ConfigError: an unknown provider, a missing model id or a missing API key.
    """
    model = ModelName.parse(name)
    if model.provider == "offline":
        return OfflineEngine()
    if model.provider == "bedrock":
        from strands.models.bedrock import BedrockModel

        return BedrockModel(
            model_id=model.model_id,
            region_name=None if boto_session else region,
            boto_session=boto_session,
            temperature=TEMPERATURE,
            max_tokens=MAX_TOKENS,
            streaming=True,
        )
    if model.provider == "anthropic":
        from strands.models.anthropic import AnthropicModel

        return AnthropicModel(
            client_args=anthropic_client_args(base_url, environ),
            model_id=model.model_id,
            max_tokens=MAX_TOKENS,
            params={"temperature": TEMPERATURE},
        )
    from strands.models.openai import OpenAIModel

    return OpenAIModel(
        client_args=openai_client_args(base_url, environ),
        model_id=model.model_id,
        params={"temperature": TEMPERATURE, "max_tokens": MAX_TOKENS},
    )
