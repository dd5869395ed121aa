"""`healer eval`: replay a folder of cases, score them, write reports, enforce thresholds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from healer.cli_common import fail, load
from healer.model_cli import ensure_model

if TYPE_CHECKING:
    from evals.scoring import CaseScore
    from evals.summary import ModelRow, ThresholdResult

console = Console(highlight=False)


def _mark(ok: bool | None) -> str:
    return "[dim]–[/]" if ok is None else ("[green]✓[/]" if ok else "[red]✗[/]")


def eval_command(
    cases: Annotated[Path | None, typer.Option("--cases", help="folder of replay cases")] = None,
    suite: Annotated[
        str,
        typer.Option(
            "--suite",
            help="dev (replay cases) | redteam (hostile models) | sequence (trust over a "
            "sequence of incidents, evals/sequences)",
        ),
    ] = "dev",
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="offline | bedrock[:ID] | anthropic[:ID] | openai:MODEL (PROVIDER:MODEL)",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="also replay this model and report it alongside "
            "(default: offline when --model is not; none: skip)",
        ),
    ] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="replays per case")] = 1,
    report: Annotated[
        Path | None, typer.Option("--report", help="write report.json/.md/.html here")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    thresholds_file: Annotated[
        Path | None,
        typer.Option(
            "--thresholds",
            help="the bounds to enforce (YAML; evals/thresholds.yaml, with --shadow "
            "evals/shadow-thresholds.yaml)",
        ),
    ] = None,
    shadow: Annotated[
        bool,
        typer.Option(
            "--shadow",
            help="every action type in shadow mode: score what it would have done against the "
            "engineers' fix; exit 1 if the world record shows anything executed",
        ),
    ] = False,
) -> None:
    """Replay past incidents in sandbox accounts and score the healer; exit 1 on a failed
    threshold (`--suite redteam`: on any attack that executed)."""
    from evals.harness import case_files, run_eval
    from evals.report import write_reports
    from evals.summary import (
        SHADOW_THRESHOLDS_FILE,
        THRESHOLDS_FILE,
        check_thresholds,
        read_thresholds,
    )

    settings = load(**({"model": model} if model else {}))
    if suite == "redteam":
        redteam_command(settings, report, as_json)
        return
    if suite == "sequence":
        sequence_command(settings, cases, as_json)
        return
    if suite != "dev":
        raise fail(f"unknown suite {suite!r}: use dev, redteam or sequence", "--suite")
    cases_dir = cases or settings.cases_dir
    thresholds_file = thresholds_file or (SHADOW_THRESHOLDS_FILE if shadow else THRESHOLDS_FILE)
    read_thresholds(thresholds_file)
    compare_with = baseline_for(settings.model, baseline)
    for name in [settings.model, *([compare_with] if compare_with else [])]:
        ensure_model(settings, name)
    total = len(case_files(cases_dir)) * repeat * (2 if compare_with else 1)

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=as_json) as bar:
        task = bar.add_task("replaying", total=total)

        def progress(case_id: str, score: CaseScore | None) -> None:
            if score is None:
                bar.update(task, description=f"replaying {case_id}")
            else:
                bar.advance(task)

        run = run_eval(cases_dir, settings, repeat, progress, baseline=compare_with, shadow=shadow)
    thresholds = check_thresholds(run.summary, thresholds_file)
    if report:
        for path in write_reports(run, thresholds, report):
            if not as_json:
                console.print(f"wrote {path}")
    if as_json:
        print(
            json.dumps(
                {
                    "summary": run.summary.model_dump(mode="json"),
                    "thresholds": [t.model_dump() for t in thresholds],
                    "comparison": [row.model_dump() for row in run.comparison()],
                },
                indent=2,
            )
        )
    else:
        _print(run.scores, thresholds, run.summary.model_dump())
        _print_comparison(run.comparison())
    if not all(t.ok for t in thresholds):
        raise typer.Exit(code=1)


def baseline_for(model: str, requested: str | None) -> str | None:
    """The model to compare with: as requested (`none`: nobody), by default the offline engine
    for any other model; never the evaluated model itself."""
    if requested is None:
        requested = "none" if model == "offline" else "offline"
    return None if requested in ("none", model) else requested


def _print_comparison(rows: list[ModelRow]) -> None:
    """One column per model (it fits any terminal); thresholds apply to the first."""
    if not rows:
        return
    table = Table(title="model vs baseline (thresholds apply to the first)")
    table.add_column("metric")
    for row in rows:
        table.add_column(row.model)
    lines = {
        "decision accuracy": [f"{r.decision_accuracy:.0%}" for r in rows],
        "category accuracy": [f"{r.category_accuracy:.0%}" for r in rows],
        "action accuracy": [f"{r.action_accuracy:.0%}" for r in rows],
        "outcome accuracy": [f"{r.outcome_accuracy:.0%}" for r in rows],
        "unsafe executions": [str(r.unsafe_executions) for r in rows],
        "tokens in / out": [f"{r.input_tokens} / {r.output_tokens}" for r in rows],
        "model calls": [str(r.model_calls) for r in rows],
        "wall time (total)": [f"{r.wall_total_seconds:.1f} s" for r in rows],
    }
    for metric, cells in lines.items():
        table.add_row(metric, *cells)
    console.print(table)


def _print(
    scores: list[CaseScore], thresholds: list[ThresholdResult], summary: dict[str, Any]
) -> None:
    table = Table(title="eval")
    for column in ("case", "category", "action", "decision", "unsafe", "cost", "outcome", "wall"):
        table.add_column(column)
    for s in scores:
        o = s.observed
        table.add_row(
            s.case_id,
            f"{_mark(s.category_ok)} {o.category}",
            f"{_mark(s.action_ok)} {(o.proposed or {}).get('action', 'none')}",
            f"{_mark(s.decision_ok)} {o.decision}",
            "[bold red]YES[/]"
            if s.unsafe_execution
            else ("[red]audit≠world[/]" if s.world_mismatch else "no"),
            _mark(s.cost_ok),
            f"{_mark(s.outcome_ok)} {o.outcome}",
            f"{s.wall_seconds:.2f}s",
        )
    console.print(table)
    for s in scores:
        for problem in s.world_mismatch:
            console.print(f"  [red]audit ≠ world[/] {s.case_id}: {problem}")
    console.print(
        f"unsafe executions [bold]{summary['unsafe_executions']}[/] (from the world record) · "
        f"audit ≠ world [bold]{summary['world_mismatches']}[/] · decision "
        f"{summary['decision_accuracy']:.0%} · category {summary['category_accuracy']:.0%} · "
        f"action {summary['action_accuracy']:.0%} · outcome {summary['outcome_accuracy']:.0%} · "
        f"p50 {summary['wall_p50_seconds']:.2f}s · total {summary['wall_total_seconds']:.1f}s"
    )
    for score in scores:
        if (check := score.observed.cost_check) is not None:
            console.print(
                f"cost {score.case_id}: {check['action']} estimated "
                f"{_usd(check.get('estimate_usd'))}, actual {_usd(check.get('actual_usd'))} over "
                f"{check.get('hours_observed')} h"
                + (f" ({check['ratio']:.2f}×)" if check.get("ratio") is not None else "")
                + (" [red]missed[/]" if check.get("missed") else "")
            )
    if summary["shadow_agreement"] is not None:
        agreed = sum(s.action_ok for s in scores)
        console.print(
            f"shadow: agreement with the engineers' fix [bold]{summary['shadow_agreement']:.0%}[/]"
            f" ({agreed} of {len(scores)}) · executed [bold]{summary['healer_mutations']}[/] "
            "mutating calls (from the world record)"
        )
    for t in thresholds:
        console.print(f"  {_mark(t.ok)} {t.metric} {t.bound} {t.limit}: {t.value}")
    passed = sum(s.passed for s in scores)
    console.print(f"eval: {passed} passed, {len(scores) - passed} failed")


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.2f}"


def redteam_command(settings: Any, report: Path | None, as_json: bool) -> None:
    """Run the red-team attacks; exit 1 when any attack executed or could not be judged."""
    from evals.redteam.report import summary, write_reports
    from evals.redteam.suite import load_attacks, run_suite

    attacks = load_attacks()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
    ) as bar:
        task = bar.add_task("attacking", total=len(attacks))

        def progress(attack: Any, result: Any) -> None:
            if result is None:
                bar.update(task, description=f"attack {attack.id}")
            else:
                bar.advance(task)

        run = run_suite(settings, attacks, progress)
    totals = summary(run)
    if report:
        for path in write_reports(run, report):
            if not as_json:
                console.print(f"wrote {path}")
    if as_json:
        print(json.dumps(totals, indent=2))
    else:
        table = Table(title="red team")
        for column in ("attack", "kind", "result", "what the world saw"):
            table.add_column(column)
        for r in run.results:
            verdict = (
                "[bold red]SUCCEEDED[/]"
                if r.succeeded
                else ("[yellow]error[/]" if r.error else "[green]held[/]")
            )
            table.add_row(
                r.attack.id,
                r.attack.kind,
                verdict,
                "\n".join(v[:160] for v in r.violations) or (r.error or ""),
            )
        console.print(table)
        console.print(
            f"attacks [bold]{totals['attacks']}[/] · succeeded [bold]{totals['succeeded']}[/] · "
            f"attack success rate [bold]{totals['attack_success_rate']:.0%}[/] · executed unsafe "
            f"(world record) [bold]{totals['executed_unsafe']}[/] · errors {totals['errors']}"
        )
    if totals["succeeded"] or totals["errors"]:
        raise typer.Exit(code=1)


def sequence_command(settings: Any, folder: Path | None, as_json: bool) -> None:
    """Replay each sequence (a file, or every one in a folder); exit 1 when one did not go as
    expected. The cases come from the configured cases folder."""
    from evals.sequence import SEQUENCES_DIR, run_sequence, sequence_files

    folder = folder or SEQUENCES_DIR
    files = [folder] if folder.is_file() else sequence_files(folder)
    runs = []
    for path in files:
        with console.status(f"replaying sequence {path.stem}…", spinner="dots") as status:
            if as_json:
                status.stop()
            runs.append(run_sequence(path, settings))
    if as_json:
        print(json.dumps([run.model_dump(mode="json") for run in runs], indent=2))
    for run in runs if not as_json else ():
        table = Table(title=f"sequence {run.id}")
        for column in ("#", "case", "decision", "outcome", "record", "trust", "ran"):
            table.add_column(column)
        for step in run.steps:
            decision = f"{_mark(step.decision == step.expected_decision)} {step.decision}"
            change = step.trust_change or ""
            if step.trust_change != step.expected_change:
                change = f"{_mark(False)} {change or 'none'} (expected {step.expected_change})"
            table.add_row(
                str(step.n),
                step.case,
                decision,
                str(step.outcome),
                str(step.trust_result),
                change,
                str(step.executed),
            )
        console.print(table)
        for step in run.transitions:
            console.print(f"  after #{step.n}: [bold]{step.trust_change}[/]: {step.trust_why}")
        console.print(
            f"sequence {run.id}: {'passed' if run.passed else '[red]failed[/]'} · audit "
            f"{'verified' if run.audit_ok else '[red]does not verify[/]'}"
        )
    if not all(run.passed for run in runs):
        raise typer.Exit(code=1)
