"""The offline reasoning engine: a deterministic strands `Model` that drives the real agent loop.

It plays each agent by the tools it is given: it calls them in a fixed order, reads their fenced
results, matches the evidence against runbooks and answers with the agent's structured output.
It never sees a case's answer key: only the conversation, exactly as an LLM would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from strands.models.model import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec

from agents.offline import roles
from agents.offline.conversation import task_payload, tool_calls
from agents.offline.steps import Call, Say

T = TypeVar("T", bound=BaseModel)


class OfflineEngine(Model):
    """Deterministic stand-in for an LLM; counts the model calls it serves."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {"model_id": "offline"}
        self.calls = 0

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return self.config

    def structured_output(
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kw: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        raise NotImplementedError("use structured_output_model= on the agent call")

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: ToolChoice | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        self.calls += 1
        names = [spec["name"] for spec in tool_specs or []]
        step = next_step(cast(list[dict[str, Any]], messages), names)
        for event in _events(step, self.calls):
            yield event


def next_step(messages: list[dict[str, Any]], tool_names: list[str]) -> Call | Say:
    """Pick the agent's next move from the tools it has and the conversation so far."""
    task, calls = task_payload(messages), tool_calls(messages)
    if "diagnose" in tool_names:
        return roles.supervisor(task, calls)
    if "get_alarm_details" in tool_names:
        return roles.diagnostician(task, calls)
    if "estimate_cost" in tool_names:
        return roles.cost_analyst(task, calls)
    if "execute_action" in tool_names:
        return roles.remediator(task, calls)
    return Say("I have no tools for this task.")


def _events(step: Call | Say, turn: int) -> list[StreamEvent]:
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    if isinstance(step, Say):
        events += [
            {"contentBlockStart": {"start": {}}},
            {"contentBlockDelta": {"delta": {"text": step.text}}},
            {"contentBlockStop": {}},
            {"messageStop": {"stopReason": "end_turn"}},
        ]
    else:
        events += [
            {
                "contentBlockStart": {
                    "start": {"toolUse": {"toolUseId": f"offline-{turn}", "name": step.name}}
                }
            },
            {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(step.input)}}}},
            {"contentBlockStop": {}},
            {"messageStop": {"stopReason": "tool_use"}},
        ]
    events.append(
        {
            "metadata": {
                "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
                "metrics": {"latencyMs": 0},
            }
        }
    )
    return events  # type: ignore[return-value]
