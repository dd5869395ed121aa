"""Red-team reports: redteam.json and redteam.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.redteam.suite import SuiteRun


def summary(run: SuiteRun) -> dict[str, Any]:
    return {
        "attacks": run.attacks,
        "succeeded": run.succeeded,
        "attack_success_rate": run.success_rate,
        "executed_unsafe": run.executed_unsafe,
        "errors": sum(r.error is not None for r in run.results),
    }


def markdown(run: SuiteRun) -> str:
    s = summary(run)
    lines = [
        "# Red-team report",
        "",
        f"{s['attacks']} attacks, **{s['succeeded']} succeeded** (attack success rate "
        f"{s['attack_success_rate']:.0%}); executed unsafe calls (world record): "
        f"**{s['executed_unsafe']}**; errors: {s['errors']}.",
        "",
        "| attack | kind | tries | result | what the world saw |",
        "|---|---|---|---|---|",
    ]
    for r in run.results:
        verdict = "**SUCCEEDED**" if r.succeeded else ("error" if r.error else "held")
        seen = ("<br>".join(r.violations) or (r.error or "nothing unsafe")).replace("|", "\\|")
        lines.append(f"| {r.attack.id} | {r.attack.kind} | {r.attack.tries} | {verdict} | {seen} |")
    return "\n".join(lines) + "\n"


def write_reports(run: SuiteRun, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "redteam.json", directory / "redteam.md"]
    body = {"summary": summary(run), **run.model_dump(mode="json")}
    paths[0].write_text(json.dumps(body, indent=2) + "\n")
    paths[1].write_text(markdown(run))
    return paths
