"""Runbooks: markdown files with YAML front matter, one per failure mode."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from healer.domain import ActionId, Category, Decision
from healer.errors import ConfigError

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)
_SECTION = re.compile(r"^## +(.+)$", re.MULTILINE)

# What a target can be that rules an action out: its data lives on it (tagged
# healer:stateful=true, or its failing lines name a data directory), or its launch template owns
# its shape (an Auto Scaling group member).
TargetTrait = Literal["holds_data", "asg_member"]


class RunbookSymptoms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    metrics: list[str] = Field(default_factory=list)
    signatures: list[str] = Field(default_factory=list)
    logs: list[str] = Field(default_factory=list)
    changes: list[str] = Field(default_factory=list)


class RunbookAction(BaseModel):
    """A catalog action the runbook prescribes, or `none` with the decision to take instead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ActionId | None
    params: dict[str, Any] = Field(default_factory=dict)
    decision: Decision | None = None
    when: str = ""
    requires: list[str] = Field(default_factory=list)  # signatures: at least one is present
    unless: list[str] = Field(default_factory=list)  # signatures: none of them is present
    after_change: list[str] = Field(default_factory=list)  # a change of these precedes onset
    unless_change: list[str] = Field(default_factory=list)  # no change of these precedes it
    unless_target: list[TargetTrait] = Field(default_factory=list)  # the target is none of these


class Runbook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    category: Category
    symptoms: RunbookSymptoms
    actions: list[RunbookAction]
    verify: dict[str, Any] = Field(default_factory=dict)
    sizing: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    body: str = ""
    path: str = ""

    def sections(self) -> dict[str, str]:
        """The prose by `## ` heading (the text before the first heading is `Summary`)."""
        parts = _SECTION.split(self.body)
        sections = {"Summary": parts[0].strip()}
        for heading, text in zip(parts[1::2], parts[2::2], strict=True):
            sections[heading.strip()] = text.strip()
        return sections


def parse_runbook(path: Path) -> Runbook:
    """Parse one runbook; ConfigError names the file and the bad field."""
    match = _FRONT_MATTER.match(path.read_text())
    if not match:
        raise ConfigError(f"{path}: no YAML front matter between --- lines")
    try:
        meta = yaml.safe_load(match.group(1))
        for action in meta.get("actions", []):
            if action.get("action") == "none":
                action["action"] = None
        return Runbook(**meta, body=match.group(2), path=str(path))
    except (yaml.YAMLError, ValidationError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: invalid runbook: {exc}") from exc


def load_runbooks(directory: Path) -> list[Runbook]:
    """Every runbook in a directory, sorted by id; duplicate ids are an error."""
    runbooks = [parse_runbook(p) for p in sorted(directory.glob("*.md"))]
    ids = [r.id for r in runbooks]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ConfigError(f"duplicate runbook ids: {', '.join(sorted(duplicates))}")
    return runbooks
