"""The remediator's tools: run the approved action, read alarm state."""

from __future__ import annotations

from typing import Any

from strands import tool

from healer.domain import ActionProposal
from tools.cloudwatch import alarm_states
from tools.context import ToolContext
from tools.fence import fence

EXECUTE_ACTION = "execute_action"


def remediation_tools(ctx: ToolContext) -> list[Any]:
    """The tools the remediator may call. `execute_action` is guarded twice."""

    @tool
    def execute_action(action: str, target: str, params: dict[str, Any] | None = None) -> str:
        """Use to run the one approved catalog action. Anything else is refused.

        Args:
            action: catalog action id, exactly as approved.
            target: instance id or Auto Scaling group name, exactly as approved.
            params: the approved parameters.
        """
        proposal = ActionProposal(action=action, target=target, params=params or {})  # type: ignore[arg-type]
        result = ctx.executor.execute(ctx.incident_id, proposal)
        return fence(EXECUTE_ACTION, result.model_dump(mode="json"))

    @tool
    def get_alarm_state(alarm_names: list[str]) -> str:
        """Use to check whether alarms are back to OK.

        Args:
            alarm_names: CloudWatch alarm names.
        """
        return fence("get_alarm_state", alarm_states(ctx.aws.cloudwatch, alarm_names))

    return [execute_action, get_alarm_state]
