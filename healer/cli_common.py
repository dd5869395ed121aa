"""What every `healer` command shares: the console, one-line errors, settings and the store.

Imports stay light (typer, rich, pydantic): a command imports what it needs when it runs, so
`healer --help` and read-only commands start fast.
"""

from __future__ import annotations

import os
import traceback
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from typer._click import ClickException, Command, Context
from typer.core import TyperGroup

from healer.errors import ConfigError, HealerError, UserError

if TYPE_CHECKING:
    from healer.config import HealerSettings
    from healer.domain import Approval, GovernanceDecision, Incident, RemediationPlan
    from healer.store import Store
    from healer.workflow.services import ApprovalChannel

console = Console(highlight=False)


def fail(what: str, where: str | None = None) -> UserError:
    """The error to raise for input a user must fix; printed `error: <where>: <what>`."""
    return UserError(what, where)


def load(**overrides: Any) -> HealerSettings:
    """The settings, or a one-line error naming the setting that is wrong."""
    from pydantic import ValidationError

    from healer.config import load_settings

    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        name = f"HEALER_{field.upper()} / healer.toml {field}"
        raise fail(f"{first['msg']} (got {first.get('input')!r})", f"setting {name}") from exc


def open_store(settings: HealerSettings) -> Store:
    from healer.configured_store import configured_store

    return configured_store(settings)


def printing_channel() -> ApprovalChannel:
    """A channel that shows each approval request as it would appear in Slack."""
    from healer import render
    from healer.workflow.services import RecordingChannel

    class PrintingChannel(RecordingChannel):
        def request(
            self,
            incident: Incident,
            plan: RemediationPlan,
            decision: GovernanceDecision,
            approval: Approval,
        ) -> None:
            super().request(incident, plan, decision, approval)
            render.approval_request(console, incident, plan, decision, approval)

    return PrintingChannel()


class HealerGroup(TyperGroup):
    """Every failure of a command ends in one line on stderr, `error: <where>: <what>`, and exit
    code 2; `--debug` (or HEALER_DEBUG=1) prints the traceback first."""

    def invoke(self, ctx: Context) -> Any:
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except ClickException as exc:  # a usage error: one line too, with where to read more
            command = _command_path(self, args)
            hint = f"; see healer {command} --help" if command != "healer" else ""
            typer.echo(
                error_line(UserError(exc.format_message().rstrip(".") + hint), command), err=True
            )
            raise typer.Exit(exc.exit_code) from exc
        except Exception as exc:
            if ctx.params.get("debug") or os.environ.get("HEALER_DEBUG"):
                traceback.print_exc()
            typer.echo(error_line(exc, _command_path(self, args)), err=True)
            raise typer.Exit(2) from exc


def _command_path(group: TyperGroup, args: list[str]) -> str:
    """The words of the command that ran (`incidents show`), from the root group's arguments."""
    words: list[str] = []
    command: Command = group
    for arg in args:
        if not isinstance(command, TyperGroup) or arg not in command.commands:
            break
        words.append(arg)
        command = command.commands[arg]
    return " ".join(words) or "healer"


def error_line(exc: BaseException, command: str) -> str:
    """`error: <where>: <what>` on one line for any exception."""
    where, what = _describe(exc)
    text = f"error: {where or command}: {what}"
    return " ".join(text.split())


def _describe(exc: BaseException) -> tuple[str | None, str]:
    from pydantic import ValidationError

    if isinstance(exc, UserError):
        return exc.where, exc.what
    if isinstance(exc, ConfigError):
        return "configuration", str(exc)
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or exc.title
        return f"{exc.title} {field}", str(first["msg"])
    if isinstance(exc, UnicodeDecodeError):
        return None, f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
    if isinstance(exc, OSError) and exc.filename is not None:
        return str(exc.filename), exc.strerror or str(exc)
    model_failure = _model_failure(exc)
    if model_failure:
        return "model", f"{model_failure.rstrip('.')}. The run was stopped."
    if isinstance(exc, HealerError):
        return None, str(exc)
    return None, f"internal error ({type(exc).__name__}: {exc}); --debug shows the traceback"


def _model_failure(exc: BaseException) -> str | None:
    from agents.model_check import describe_model_failure

    return describe_model_failure(exc)
