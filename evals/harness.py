"""The eval harness: replay each case in a fresh sandbox through the real workflow, then score.

The scorer reads a case's answer key only after its replay has ended; the healer never sees it
(the case loader does not even expose `expected`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from evals.scoring import CaseScore, observe, score_case
from evals.summary import ModelRow, Summary, summarize
from healer.cases import load_answer_key, load_case
from healer.config import HealerSettings
from healer.errors import CaseError
from healer.replay import replay_case
from healer.store import SqliteStore
from healer.trust import Mode

Progress = Callable[[str, CaseScore | None], None]


class Baseline(BaseModel):
    """The same cases replayed with another model (by default the offline engine)."""

    model: str
    summary: Summary


class EvalRun(BaseModel):
    """One run of the harness: settings, per-case scores and the totals, and the baseline's
    totals when one was replayed for comparison."""

    started_at: datetime
    model: str
    cases_dir: str
    repeat: int
    scores: list[CaseScore]
    summary: Summary
    baseline: Baseline | None = None

    def comparison(self) -> list[ModelRow]:
        """The model's row, then the baseline's; empty without a baseline."""
        if self.baseline is None:
            return []
        return [
            ModelRow.of(self.model, self.summary),
            ModelRow.of(self.baseline.model, self.baseline.summary),
        ]


def case_files(cases_dir: Path) -> list[Path]:
    files = sorted(cases_dir.glob("*.yaml"))
    if not files:
        raise CaseError(f"no cases (*.yaml) in {cases_dir}")
    return files


def run_case(path: Path, settings: HealerSettings, work_dir: Path) -> CaseScore:
    """Replay one case in a fresh sandbox account and store, then score it."""
    case = load_case(path)
    store = SqliteStore(work_dir / f"{case.id}-{time.monotonic_ns()}.db")
    started = time.monotonic()
    try:
        result = replay_case(case, path, store, settings)
        trails = {i.id: store.events(i.id) for i in result.incidents}
        observed = observe(result.incidents, trails, result.world_calls, result.human_decisions)
        effort = _effort(result.effort)
    finally:
        store.close()
    wall = time.monotonic() - started
    answer_key = load_answer_key(path)  # only now, after the replay has ended
    return score_case(
        case.id,
        case.title,
        list(case.tags),
        observed,
        answer_key,
        effort,
        wall,
        healer_mutations=sum(call.origin == "healer" for call in result.world_calls),
        shadow=settings.autonomy_default is Mode.SHADOW,
    )


def _effort(per_incident: dict[str, dict[str, int | None]]) -> dict[str, int]:
    names = ("model_calls", "tool_calls", "input_tokens", "output_tokens")
    totals = dict.fromkeys(names, 0)
    for effort in per_incident.values():
        for name in names:
            totals[name] += effort.get(name) or 0
    totals["tokens"] = totals["input_tokens"] + totals["output_tokens"]
    return totals


def run_eval(
    cases_dir: Path,
    settings: HealerSettings,
    repeat: int = 1,
    progress: Progress | None = None,
    baseline: str | None = None,
    shadow: bool = False,
) -> EvalRun:
    """Replay and score every case of a folder, `repeat` times each; then, with `baseline`
    (a model name other than the configured one), replay them again with that model and attach
    its totals for comparison. Thresholds apply to the configured model alone. With `shadow`,
    every action type runs in shadow mode: decisions are scored, nothing may execute."""
    if shadow:
        settings = settings.model_copy(
            update={"autonomy_default": Mode.SHADOW, "autonomy": {}, "shadow_scopes": []}
        )
    run = _run(cases_dir, settings, repeat, progress)
    if baseline and baseline != settings.model:
        other = _run(
            cases_dir,
            settings.model_copy(update={"model": baseline}),
            repeat,
            _labelled(progress, baseline),
        )
        run.baseline = Baseline(model=baseline, summary=other.summary)
    return run


def _labelled(progress: Progress | None, label: str) -> Progress | None:
    if progress is None:
        return None
    report = progress

    def labelled(case_id: str, score: CaseScore | None) -> None:
        report(f"{case_id} ({label})", score)

    return labelled


def _run(
    cases_dir: Path, settings: HealerSettings, repeat: int, progress: Progress | None
) -> EvalRun:
    started_at = datetime.now(UTC)
    scores: list[CaseScore] = []
    with tempfile.TemporaryDirectory(prefix="healer-eval-") as tmp:
        for _ in range(repeat):
            for path in case_files(cases_dir):
                if progress:
                    progress(path.stem, None)
                score = run_case(path, settings, Path(tmp))
                scores.append(score)
                if progress:
                    progress(path.stem, score)
    return EvalRun(
        started_at=started_at,
        model=settings.model,
        cases_dir=str(cases_dir),
        repeat=repeat,
        scores=scores,
        summary=summarize(scores),
    )
