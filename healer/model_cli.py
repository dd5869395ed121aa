"""The model, as the commands that run one see it: checked before anything runs, so a wrong
name or missing credentials is one `error:` line with exit code 2 (a provider failure during a
run is reported the same way, by `cli_common.HealerGroup`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from healer.cli_common import fail
from healer.errors import ConfigError, ModelUnavailable

if TYPE_CHECKING:
    from healer.config import HealerSettings


def ensure_model(settings: HealerSettings, name: str | None = None) -> None:
    """Exit 2 with one line unless the model (default: the configured one) can serve a run."""
    from agents.model_check import check_model

    model = name or settings.model
    try:
        check_model(model, base_url=settings.model_base_url(model))
    except (ConfigError, ModelUnavailable) as exc:
        raise fail(f"{str(exc).rstrip('.')}. Nothing was run.", "model") from exc
