"""Errors, sorted by who must react to them."""

from __future__ import annotations


class HealerError(Exception):
    """Base of all project errors."""


class ToolInputError(HealerError):
    """The model passed bad input to a tool: the model retries."""


class ToolUnavailable(HealerError):
    """A dependency (AWS, a store) failed: the workflow retries with backoff."""


class ConcurrentUpdate(ToolUnavailable):
    """Another writer changed a record first (optimistic concurrency): reload and retry."""


class ModelUnavailable(ToolUnavailable):
    """The model's API cannot be reached, refused the credentials or the model: retry later, or a
    developer fixes the configuration."""


class ApprovalRequired(HealerError):
    """The action needs a valid human approval: a human decides."""


class ActionRejected(HealerError):
    """The guardrail or the executor refused an action: a human decides."""


class ConfigError(HealerError):
    """The configuration is wrong: a developer fixes it."""


class EventRejected(HealerError):
    """An incoming event is malformed or out of scope; `field` names what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class CaseError(HealerError):
    """A replay case does not validate against the schema."""


class UserError(HealerError):
    """Input a user must fix, found by a command: `error: <where>: <what>`, exit 2."""

    def __init__(self, what: str, where: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
