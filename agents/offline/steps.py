"""The two moves of the offline engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """Call a tool (structured output is a tool too)."""

    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Say:
    """End the turn with text."""

    text: str
