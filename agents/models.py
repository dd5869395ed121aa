"""The model factory: `offline` (the deterministic engine, default) or `bedrock[:MODEL_ID]`."""

from __future__ import annotations

from typing import Any

from strands.models.model import Model

from agents.offline.engine import OfflineEngine
from healer.errors import ConfigError

DEFAULT_BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"


def build_model(name: str, *, region: str = "us-east-1", boto_session: Any = None) -> Model:
    """A strands model from its configured name, e.g. `offline` or `bedrock:<model id>`."""
    kind, _, model_id = name.partition(":")
    if kind == "offline":
        return OfflineEngine()
    if kind == "bedrock":
        from strands.models.bedrock import BedrockModel

        return BedrockModel(
            model_id=model_id or DEFAULT_BEDROCK_MODEL,
            region_name=None if boto_session else region,
            boto_session=boto_session,
            temperature=0.0,
            max_tokens=4096,
            streaming=True,
        )
    raise ConfigError(f"unknown model {name!r}: use 'offline' or 'bedrock[:MODEL_ID]'")
