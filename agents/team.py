"""The four agents of an incident: a supervisor whose tools are the three specialists."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from strands import Agent, tool
from strands.models.model import Model
from strands.tools.executors import ConcurrentToolExecutor, SequentialToolExecutor

from agents import prompts
from agents.guardrail_hook import GuardrailHook
from healer.domain import (
    ActionProposal,
    Approval,
    CostEstimate,
    Diagnosis,
    PastAction,
    RemediationPlan,
)
from healer.policy import PolicySettings
from tools.context import ToolContext
from tools.costing import cost_tools
from tools.diagnostics import diagnostic_tools
from tools.fence import fence
from tools.guardrail import guardrail_tools
from tools.remediation import Blocked
from tools.remediation_tools import remediation_tools


@dataclass
class Effort:
    """What an incident cost in agent work."""

    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, result: Any) -> None:
        """Add one agent run (its event-loop cycles are its model calls)."""
        self.model_calls += result.metrics.cycle_count
        usage = result.metrics.accumulated_usage
        self.input_tokens += usage.get("inputTokens", 0)
        self.output_tokens += usage.get("outputTokens", 0)
        self.tool_calls += sum(m.call_count for m in result.metrics.tool_metrics.values())


def _task(text: str, payload: dict[str, Any]) -> str:
    return f"{text}\n```json\n{json.dumps(payload, sort_keys=True, default=str)}\n```"


class IncidentTeam:
    """Builds and runs the agents for one incident, on one model."""

    def __init__(
        self,
        ctx: ToolContext,
        model: Model,
        history: list[PastAction],
        settings: PolicySettings,
        approval_for: Callable[[str], Approval | None],
        alarms: list[str],
        on_blocked: Blocked | None = None,
    ) -> None:
        self.ctx = ctx
        self.alarms = alarms
        self.on_blocked = on_blocked
        self.model = model
        self.history = history
        self.settings = settings
        self.approval_for = approval_for
        self.effort = Effort()

    def _agent(
        self,
        name: str,
        prompt: str,
        tools: list[Any],
        hooks: list[Any] | None = None,
        sequential: bool = False,
    ) -> Agent:
        return Agent(
            model=self.model,
            name=name,
            system_prompt=prompt,
            tools=tools,
            hooks=hooks or [],
            callback_handler=None,
            tool_executor=SequentialToolExecutor() if sequential else ConcurrentToolExecutor(),
        )

    def diagnostician(self, incident: str) -> Diagnosis:
        agent = self._agent("diagnostician", prompts.DIAGNOSTICIAN, diagnostic_tools(self.ctx))
        result = agent(incident, structured_output_model=Diagnosis)
        self.effort.add(result)
        return result.structured_output  # type: ignore[return-value]

    def cost_analyst(self, proposal: ActionProposal) -> CostEstimate:
        agent = self._agent("cost_analyst", prompts.COST_ANALYST, cost_tools(self.ctx))
        result = agent(
            _task("Price this action.", proposal.model_dump(mode="json")),
            structured_output_model=CostEstimate,
        )
        self.effort.add(result)
        return result.structured_output  # type: ignore[return-value]

    def supervisor(self, incident: dict[str, Any]) -> RemediationPlan:
        """Investigate: diagnosis, price, guardrail preview → RemediationPlan."""
        team = self

        @tool
        def diagnose(incident: str) -> str:
            """Use first: ask the diagnostician for the root cause, evidence and a proposed action.

            Args:
                incident: the incident as given to you (alarms, resources, times).
            """
            return fence("diagnose", team.diagnostician(incident).model_dump(mode="json"))

        @tool
        def price_action(action: str, target: str, params: dict[str, Any] | None = None) -> str:
            """Use when an action is proposed: ask the cost analyst for its price.

            Args:
                action: catalog action id.
                target: instance id or Auto Scaling group name.
                params: the action's parameters.
            """
            proposal = ActionProposal(action=action, target=target, params=params or {})  # type: ignore[arg-type]
            return fence("price_action", team.cost_analyst(proposal).model_dump(mode="json"))

        guardrail = guardrail_tools(
            self.ctx.aws,
            self.ctx.catalog,
            self.ctx.prices,
            self.ctx.runbooks,
            self.alarms,
            self.history,
            self.ctx.clock,
            self.settings,
        )
        agent = self._agent("supervisor", prompts.SUPERVISOR, [diagnose, price_action, *guardrail])
        result = agent(
            _task("Investigate this incident and return a remediation plan.", incident),
            structured_output_model=RemediationPlan,
        )
        self.effort.add(result)
        return result.structured_output  # type: ignore[return-value]

    def remediator(self, proposal: ActionProposal) -> tuple[str, GuardrailHook]:
        """Run the approved action through the guarded tool, one tool call at a time; returns
        the report and the hook."""
        hook = GuardrailHook(
            self.ctx.incident_id,
            self.ctx.catalog,
            self.approval_for,
            self.ctx.clock,
            self.on_blocked,
        )
        agent = self._agent(
            "remediator",
            prompts.REMEDIATOR,
            remediation_tools(self.ctx),
            hooks=[hook],
            sequential=True,
        )
        result = agent(
            _task(
                "Run this approved action.",
                {**proposal.model_dump(mode="json"), "alarms": self.alarms},
            )
        )
        self.effort.add(result)
        return str(result), hook
