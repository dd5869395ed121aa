"""`ScriptedModel`: a strands model that replays scripted turns through the real agent loop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from strands.models.model import Model


@dataclass(frozen=True)
class ToolCall:
    """A model turn that calls one tool."""

    name: str
    input: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Text:
    """A model turn that answers in text and ends the agent's turn."""

    text: str


@dataclass(frozen=True)
class Parallel:
    """A model turn that calls several tools at once (strands may run them concurrently)."""

    calls: tuple[ToolCall, ...]


Turn = ToolCall | Text | Parallel


class ScriptedModel(Model):
    """Replays `turns` in order, one per model call, as ConverseStream-shaped events.

    Every call's messages are kept in `requests`, so a test can read what the model was shown
    (e.g. the tool result after a guardrail refusal). Running out of turns fails the test.
    """

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = list(turns)
        self.requests: list[list[dict[str, Any]]] = []
        self.config: dict[str, Any] = {"model_id": "scripted"}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return self.config

    async def structured_output(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        raise NotImplementedError("ScriptedModel scripts tool calls; use a ToolCall turn")
        yield  # pragma: no cover

    async def stream(  # type: ignore[override]
        self, messages: Any, tool_specs: Any = None, system_prompt: Any = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        index = len(self.requests)
        self.requests.append(json.loads(json.dumps(messages, default=str)))
        if index >= len(self.turns):
            raise AssertionError(f"ScriptedModel: script exhausted after {len(self.turns)} turns")
        turn = self.turns[index]
        yield {"messageStart": {"role": "assistant"}}
        if isinstance(turn, ToolCall | Parallel):
            calls = turn.calls if isinstance(turn, Parallel) else (turn,)
            for n, call in enumerate(calls):
                use_id = f"tooluse-{index}" if len(calls) == 1 else f"tooluse-{index}-{n}"
                tool_use = {"toolUseId": use_id, "name": call.name}
                yield {"contentBlockStart": {"start": {"toolUse": tool_use}}}
                yield {
                    "contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(call.input)}}}
                }
                yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "tool_use"}}
        else:
            yield {"contentBlockStart": {"start": {}}}
            yield {"contentBlockDelta": {"delta": {"text": turn.text}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "end_turn"}}

    def tool_results(self) -> list[dict[str, Any]]:
        """Every tool result the model was shown, in order."""
        seen: dict[str, dict[str, Any]] = {}
        for messages in self.requests:
            for message in messages:
                for block in message.get("content", []):
                    if "toolResult" in block:
                        seen[block["toolResult"]["toolUseId"]] = block["toolResult"]
        return list(seen.values())
