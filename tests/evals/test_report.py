"""The eval report puts a model's row next to its baseline's, and only when there is one."""

from __future__ import annotations

from datetime import UTC, datetime

from evals.harness import Baseline, EvalRun
from evals.report import html, markdown
from evals.summary import summarize


def run(baseline: Baseline | None) -> EvalRun:
    summary = summarize([]).model_copy(
        update={"decision_accuracy": 0.75, "input_tokens": 1200, "output_tokens": 300}
    )
    return EvalRun(
        started_at=datetime(2025, 3, 1, tzinfo=UTC),
        model="anthropic:claude-test-1",
        cases_dir="evals/cases",
        repeat=1,
        scores=[],
        summary=summary,
        baseline=baseline,
    )


def test_the_model_and_its_baseline_are_two_rows_of_one_table() -> None:
    baseline = Baseline(
        model="offline", summary=summarize([]).model_copy(update={"decision_accuracy": 1.0})
    )
    text = markdown(run(baseline), [])

    assert "## Model vs baseline" in text
    assert "| anthropic:claude-test-1 | 75% | 0% | 0% | 0% | 0 | 1200 | 300 | 0 | 0.0 s |" in text
    assert "| offline | 100% | 0% | 0% | 0% | 0 | 0 | 0 | 0 | 0.0 s |" in text
    assert "<h2>Model vs baseline</h2>" in html(run(baseline), [])


def test_without_a_baseline_there_is_no_comparison() -> None:
    assert "Model vs baseline" not in markdown(run(None), [])
    assert "Model vs baseline" not in html(run(None), [])
    assert "| tokens in / out | 1200 / 300 |" in markdown(run(None), [])
