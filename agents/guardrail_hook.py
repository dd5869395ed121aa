"""The first enforcement of the guardrail: cancel any execution the policy did not allow."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from strands.hooks import BeforeToolCallEvent, HookProvider, HookRegistry

from healer.catalog import Catalog
from healer.domain import ActionProposal, Approval
from healer.errors import ActionRejected, ApprovalRequired
from tools.remediation import Blocked, check_approval
from tools.remediation_tools import EXECUTE_ACTION

log = logging.getLogger(__name__)


class GuardrailHook(HookProvider):
    """Before `execute_action` runs, require an approval of exactly this action, target and
    parameters, APPROVED and unexpired.

    `approval_for` returns the incident's current approval (automatic or human), or None;
    `on_blocked` is told of every cancelled call (the audit records it).
    """

    def __init__(
        self,
        incident_id: str,
        catalog: Catalog,
        approval_for: Callable[[str], Approval | None],
        clock: Callable[[], datetime],
        on_blocked: Blocked | None = None,
    ) -> None:
        self._incident_id = incident_id
        self._on_blocked = on_blocked
        self._catalog = catalog
        self._approval_for = approval_for
        self._clock = clock
        self.cancelled: list[str] = []

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(BeforeToolCallEvent, self.before_tool_call)

    def before_tool_call(self, event: BeforeToolCallEvent) -> None:
        if event.tool_use["name"] != EXECUTE_ACTION:
            return
        reason = self.refusal(dict(event.tool_use.get("input") or {}))
        if reason:
            self.cancelled.append(reason)
            log.warning(
                "incident_id=<%s> | guardrail cancelled execute_action: %s",
                self._incident_id,
                reason,
            )
            if self._on_blocked is not None:
                self._on_blocked(reason, dict(event.tool_use.get("input") or {}))
            event.cancel_tool = f"Refused by the guardrail: {reason}"

    def refusal(self, tool_input: dict[str, Any]) -> str | None:
        """Why this tool input may not run now, or None when it may."""
        spec = self._catalog.get(str(tool_input.get("action")))
        if spec is None:
            return f"{tool_input.get('action')!r} is not a catalog action"
        raw_params = tool_input.get("params") or {}
        if not isinstance(raw_params, dict):
            return "invalid parameters: params must be an object"
        try:
            params = spec.validate_params(raw_params)
            proposal = ActionProposal(
                action=spec.id, target=str(tool_input.get("target")), params=params
            )
        except ValueError as exc:
            return f"invalid parameters: {exc}"
        try:
            check_approval(self._approval_for(self._incident_id), proposal, self._clock())
        except (ApprovalRequired, ActionRejected) as exc:
            return str(exc)
        return None
