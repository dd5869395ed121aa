"""The model, as the commands that run one see it: checked before anything runs, and a
provider failure during a run reported as one `error:` line with exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from agents.model_check import check_model, describe_model_failure
from healer.config import HealerSettings
from healer.errors import ConfigError, ModelUnavailable

console = Console(highlight=False)


def fail(message: str) -> typer.Exit:
    """Print `error: message` on one line (never wrapped) and return the exit to raise."""
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=2)


def ensure_model(settings: HealerSettings, name: str | None = None) -> None:
    """Exit 2 with one line unless the model (default: the configured one) can serve a run."""
    model = name or settings.model
    try:
        check_model(model, base_url=settings.model_base_url(model))
    except (ConfigError, ModelUnavailable) as exc:
        raise fail(f"{str(exc).rstrip('.')}. Nothing was run.") from exc


@contextmanager
def model_failures_exit() -> Iterator[None]:
    """Turn a model provider's error raised inside the block into one line and exit 2; any
    other exception passes through untouched."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        line = describe_model_failure(exc)
        if not line:
            raise
        raise fail(f"{line.rstrip('.')}. The run was stopped.") from exc
