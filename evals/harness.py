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
from evals.summary import Summary, summarize
from healer.cases import load_answer_key, load_case
from healer.config import HealerSettings
from healer.errors import CaseError
from healer.replay import replay_case
from healer.store import SqliteStore

Progress = Callable[[str, CaseScore | None], None]


class EvalRun(BaseModel):
    """One run of the harness: settings, per-case scores and the totals."""

    started_at: datetime
    model: str
    cases_dir: str
    repeat: int
    scores: list[CaseScore]
    summary: Summary


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
    return score_case(case.id, case.title, list(case.tags), observed, answer_key, effort, wall)


def _effort(per_incident: dict[str, dict[str, int | None]]) -> dict[str, int]:
    totals = {"model_calls": 0, "tool_calls": 0, "tokens": 0}
    for effort in per_incident.values():
        totals["model_calls"] += effort.get("model_calls") or 0
        totals["tool_calls"] += effort.get("tool_calls") or 0
        totals["tokens"] += (effort.get("input_tokens") or 0) + (effort.get("output_tokens") or 0)
    return totals


def run_eval(
    cases_dir: Path,
    settings: HealerSettings,
    repeat: int = 1,
    progress: Progress | None = None,
) -> EvalRun:
    """Replay and score every case of a folder, `repeat` times each."""
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
