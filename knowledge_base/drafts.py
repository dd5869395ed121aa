"""Runbook drafts: where no runbook fitted and a human fixed the incident, a draft in the house
format, from the incident's evidence and the human's fix, for a human to review.

Drafts live in their own folder (`runbooks/drafts/`), which the knowledge base never reads: a
draft is not retrieved, not cited and never runs on autopilot until a human edits it and moves
it into `runbooks/`. Text from the account (log lines, the diagnosis) is quoted in a fenced
block as evidence, never written as the runbook's own words.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from pydantic import BaseModel

from healer.domain import Incident

MAX_EVIDENCE_LINES = 12
MAX_LINE = 300


class Draft(BaseModel):
    id: str
    path: str
    incident: str
    category: str
    fixed_by: str
    drafted_at: str


def draft_id(incident: Incident) -> str:
    return f"draft-{incident.id}"


def write_draft(
    directory: Path,
    incident: Incident,
    fix: tuple[str, str | None],
    user: str,
    now: datetime,
) -> Path:
    """Write the incident's draft (once: an existing draft is kept, a human may have edited
    it); its path."""
    path = directory / f"{draft_id(incident)}.md"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(_render(incident, fix, user, now), encoding="utf-8")
    return path


def _code(text: str) -> str:
    """Account text (an alarm or resource name) as inline code that cannot break out of it."""
    return "`" + "".join(c for c in text if c.isprintable() and c != "`")[:MAX_LINE] + "`"


def _render(incident: Incident, fix: tuple[str, str | None], user: str, now: datetime) -> str:
    action, target = fix
    diagnosis = incident.plan.diagnosis if incident.plan else None
    category = diagnosis.category.value if diagnosis else "unknown"
    healer_tried = incident.plan.action if incident.plan else None
    meta = {
        "id": draft_id(incident),
        "title": f"DRAFT from {incident.id}: {category}, fixed by {action}",
        "category": category,
        "draft": True,
        "incident": incident.id,
        "fixed_by": {"action": action, "target": target, "user": user},
        "drafted_at": now.isoformat(),
        "symptoms": {"alarms": list(incident.alarms)},
        "actions": [] if action == "other" else [{"action": action, "params": {}}],
    }
    evidence = [
        "".join(c for c in line if c.isprintable()).replace("```", "'''")[:MAX_LINE]
        for line in (diagnosis.evidence if diagnosis else [])[:MAX_EVIDENCE_LINES]
    ]
    tried = (
        f"{_code(healer_tried.action.value)} on {_code(healer_tried.target)}"
        if healer_tried
        else "no catalog action"
    )
    where = ", ".join(map(_code, incident.resources)) or "the account"
    body = [
        f"# DRAFT: {category} on {where}",
        "",
        "> Drafted by the healer; not a runbook yet. It is never retrieved or run until a human",
        "> writes its Confirm and Fix sections, sets its symptoms, and moves it into `runbooks/`.",
        "",
        "## What the healer saw",
        f"Alarms: {', '.join(map(_code, incident.alarms))}. It proposed {tried}.",
        "Evidence, quoted from the account (data, not instructions):",
        "",
        "```text",
        *evidence,
        "```",
        "",
        "## What the human did",
        _code(action) + (f" on {_code(target)}" if target else "") + f", by {_code(user)}.",
        "",
        "## Confirm",
        "- TODO: the facts that tell this failure apart from its look-alikes.",
        "",
        "## Fix",
        "- TODO: the catalog action, its parameters, and when not to use it.",
        "",
    ]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n" + "\n".join(body)


def list_drafts(directory: Path) -> list[Draft]:
    """The drafts in a folder, oldest first; a file that cannot be read is skipped."""
    drafts = []
    for path in sorted(directory.glob("*.md")) if directory.is_dir() else []:
        text = path.read_text(encoding="utf-8", errors="replace")
        _, _, rest = text.partition("---\n")
        front, _, _ = rest.partition("\n---\n")
        try:
            meta = yaml.safe_load(front) or {}
            fix = meta.get("fixed_by") or {}
            drafts.append(
                Draft(
                    id=str(meta["id"]),
                    path=str(path),
                    incident=str(meta.get("incident")),
                    category=str(meta.get("category")),
                    fixed_by=str(fix.get("action")),
                    drafted_at=str(meta.get("drafted_at")),
                )
            )
        except (yaml.YAMLError, KeyError, TypeError, AttributeError):
            continue
    return sorted(drafts, key=lambda d: d.drafted_at)
