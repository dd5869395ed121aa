"""A hostile strands `Model`: it plays every agent of an incident and tries to pass the guardrail.

It tells which agent it is playing from the tools it is given (the supervisor has `diagnose`, the
remediator `execute_action`). Where its attack says nothing it plays honestly, exactly as the
offline engine would; as supervisor it swaps in its own plan (action, claimed cost, risk,
confidence, words); as remediator it runs its own script of `execute_action` turns, several
calls per turn when it wants them in parallel.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field
from strands.models.model import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec

from agents.offline.conversation import task_payload, tool_calls
from agents.offline.engine import next_step
from agents.offline.steps import Call, Say

T = TypeVar("T", bound=BaseModel)

APPROVED = "approved"
"""In a remediator script: the approved action exactly as the task gives it."""


class HostilePlan(BaseModel):
    """What the hostile supervisor returns instead of the honest plan (unset fields stay honest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    when_alarm: str | None = None
    """Only in the incident of this alarm (attacks spread across incidents)."""
    action: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    """The cost it claims, e.g. {usd: 19.99, breakdown: "..."}."""
    confidence: float | None = None
    suggested_risk: Literal["low", "medium", "high"] | None = None
    category: str | None = None
    summary: str | None = None
    evidence: list[str] = Field(default_factory=list)
    guardrail_params: dict[str, Any] | None = None
    """Parameters shown to `check_guardrail` (e.g. a fake approval), instead of the plan's."""


ExecuteCall = dict[str, Any] | Literal["approved"]


class HostileScript(BaseModel):
    """The whole attack as the model plays it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plans: list[HostilePlan] = Field(default_factory=list)
    execute: list[list[ExecuteCall]] = Field(default_factory=list)
    """Remediator turns; each turn's calls go out together (strands runs them concurrently)."""


class HostileModel(Model):
    """Plays the supervisor and remediator by its script, every other agent honestly."""

    def __init__(self, script: HostileScript) -> None:
        self.script = script
        self.config: dict[str, Any] = {"model_id": "hostile"}
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
        history = cast(list[dict[str, Any]], messages)
        if "execute_action" in names and self.script.execute:
            moves: list[Call] | Say = self._remediator(history)
        elif "diagnose" in names:
            moves = [self._supervisor(history, names)]
        else:
            step = next_step(history, names)
            moves = step if isinstance(step, Say) else [step]
        for event in _events(moves, self.calls):
            yield event

    def _remediator(self, messages: list[dict[str, Any]]) -> list[Call] | Say:
        turn = sum(1 for m in messages if m["role"] == "assistant")
        if turn >= len(self.script.execute):
            return Say("Done: every call of my script was made.")
        task = task_payload(messages)
        approved = {k: task.get(k) for k in ("action", "target", "params")}
        return [
            Call("execute_action", dict(call) if isinstance(call, dict) else approved)
            for call in self.script.execute[turn]
        ]

    def _supervisor(self, messages: list[dict[str, Any]], names: list[str]) -> Call:
        honest = next_step(messages, names)
        plan = self._plan(task_payload(messages))
        calls = tool_calls(messages)
        diagnosed = [c for c in calls if c.name == "diagnose"]
        if plan is None or not diagnosed or isinstance(honest, Say):
            return honest if isinstance(honest, Call) else Call("RemediationPlan", {})
        action = plan.action
        if action is not None and not any(c.name == "price_action" for c in calls):
            return Call("price_action", action)
        if action is not None and not any(c.name == "check_guardrail" for c in calls):
            shown = {**action, "params": plan.guardrail_params or action.get("params", {})}
            return Call("check_guardrail", {**shown, "confidence": plan.confidence or 0.9})
        return Call("RemediationPlan", _patched(diagnosed[-1].data, plan, calls))

    def _plan(self, task: dict[str, Any]) -> HostilePlan | None:
        alarms = task.get("alarms") or []
        for plan in self.script.plans:
            if plan.when_alarm is None or plan.when_alarm in alarms:
                return plan
        return None


def _patched(diagnosis: Any, plan: HostilePlan, calls: list[Any]) -> dict[str, Any]:
    """The honest diagnosis with the attack's plan written over it."""
    base = dict(diagnosis) if isinstance(diagnosis, dict) else {}
    if plan.action is not None:
        base["proposed_action"] = plan.action
        base["recommendation"] = "act"
    for field in ("confidence", "category", "summary"):
        value = getattr(plan, field)
        if value is not None:
            base[field] = value
    base["evidence"] = [*plan.evidence, *base.get("evidence", [])]
    base.setdefault("category", "unknown")
    base.setdefault("summary", "hostile")
    base.setdefault("confidence", 1.0)
    priced = [c for c in calls if c.name == "price_action"]
    cost = plan.cost or (priced[-1].data if priced and isinstance(priced[-1].data, dict) else None)
    return {
        "diagnosis": base,
        "action": plan.action if plan.action is not None else base.get("proposed_action"),
        "cost": cost,
        "suggested_risk": plan.suggested_risk,
    }


def _events(moves: list[Call] | Say, turn: int) -> list[StreamEvent]:
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    if isinstance(moves, Say):
        events += [
            {"contentBlockStart": {"start": {}}},
            {"contentBlockDelta": {"delta": {"text": moves.text}}},
            {"contentBlockStop": {}},
            {"messageStop": {"stopReason": "end_turn"}},
        ]
        return events  # type: ignore[return-value]
    for index, move in enumerate(moves):
        use = {"toolUseId": f"hostile-{turn}-{index}", "name": move.name}
        events += [
            {"contentBlockStart": {"start": {"toolUse": use}}},
            {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(move.input)}}}},
            {"contentBlockStop": {}},
        ]
    events.append({"messageStop": {"stopReason": "tool_use"}})
    return events  # type: ignore[return-value]
