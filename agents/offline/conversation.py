"""Reading a strands conversation: the task, and the tool calls made so far with their results."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tools.fence import unfence

_JSON_BLOCK = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: dict[str, Any]
    status: str
    text: str

    @property
    def data(self) -> Any:
        """The fenced JSON payload of the result (None for errors or plain text)."""
        return unfence(self.text)


def task_payload(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON block of the first user message: the task the agent was given."""
    for message in messages:
        if message["role"] != "user":
            continue
        for block in message["content"]:
            match = _JSON_BLOCK.search(block.get("text", ""))
            if match:
                payload = json.loads(match.group(1))
                return payload if isinstance(payload, dict) else {}
    return {}


def tool_calls(messages: list[dict[str, Any]]) -> list[ToolCall]:
    """Every tool call in the conversation with its result, in order."""
    uses: dict[str, tuple[str, dict[str, Any]]] = {}
    calls = []
    for message in messages:
        for block in message["content"]:
            if "toolUse" in block:
                use = block["toolUse"]
                uses[use["toolUseId"]] = (use["name"], use.get("input") or {})
            elif "toolResult" in block:
                result = block["toolResult"]
                name, tool_input = uses.get(result["toolUseId"], ("?", {}))
                text = "".join(c.get("text", "") for c in result.get("content", []))
                calls.append(ToolCall(name, tool_input, result.get("status", "success"), text))
    return calls
