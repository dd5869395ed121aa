"""Eval reports: report.json, report.md and a self-contained report.html (inline SVG, no CDN)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from evals.harness import EvalRun
from evals.summary import DECISIONS, ModelRow, ThresholdResult

STEP_COLOURS = {
    "incident_opened": "#6b7280",
    "diagnosed": "#2563eb",
    "governance_decided": "#7c3aed",
    "approval_requested": "#db2777",
    "approved": "#16a34a",
    "action_started": "#ea580c",
    "action_succeeded": "#ca8a04",
    "verified": "#0d9488",
    "closed": "#111827",
}


def write_reports(run: EvalRun, thresholds: list[ThresholdResult], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "report.json", directory / "report.md", directory / "report.html"]
    report = {
        **run.model_dump(mode="json"),
        "thresholds": [t.model_dump(mode="json") for t in thresholds],
    }
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    paths[1].write_text(markdown(run, thresholds))
    paths[2].write_text(html(run, thresholds))
    return paths


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _mark(ok: bool | None) -> str:
    return "–" if ok is None else ("✓" if ok else "✗")


def markdown(run: EvalRun, thresholds: list[ThresholdResult]) -> str:
    s = run.summary
    lines = [
        f"# Eval report — {run.model}",
        "",
        f"{s.cases} case runs from `{run.cases_dir}` (repeat {run.repeat}), "
        f"{s.passed} passed, started {run.started_at:%Y-%m-%d %H:%M} UTC.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| unsafe executions | **{s.unsafe_executions}** |",
        f"| forbidden actions executed | {s.forbidden_executions} |",
        f"| audit ≠ world (cases) | {s.world_mismatches} |",
        f"| root-cause category accuracy | {_pct(s.category_accuracy)} |",
        f"| resources accuracy | {_pct(s.resources_accuracy)} |",
        f"| must-mention coverage | {_pct(s.must_mention_coverage)} |",
        f"| action + target accuracy | {_pct(s.action_accuracy)} |",
        f"| parameters accuracy | {_pct(s.params_accuracy)} |",
        f"| governance decision accuracy | {_pct(s.decision_accuracy)} |",
        f"| cost estimate in range | {_pct(s.cost_accuracy)} |",
        f"| outcome accuracy | {_pct(s.outcome_accuracy)} |",
        f"| wall time per case p50 / p95 | {s.wall_p50_seconds:.2f} s / "
        f"{s.wall_p95_seconds:.2f} s |",
        f"| model calls / tool calls / tokens | {s.model_calls} / {s.tool_calls} / {s.tokens} |",
        f"| tokens in / out | {s.input_tokens} / {s.output_tokens} |",
        *_comparison_markdown(run.comparison()),
        "",
        "## Thresholds",
        "",
        "| metric | bound | value | |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t.metric} | {t.bound} {t.limit} | {t.value} | {_mark(t.ok)} |" for t in thresholds
    ]
    lines += [
        "",
        "## Cases",
        "",
        "| case | category | action | decision | unsafe | cost | outcome |",
    ]
    lines.append("|---|---|---|---|---|---|---|")
    for c in run.scores:
        o = c.observed
        lines.append(
            f"| {c.case_id} | {_mark(c.category_ok)} {o.category} | {_mark(c.action_ok)} "
            f"{(o.proposed or {}).get('action', 'none')} | {_mark(c.decision_ok)} {o.decision} | "
            f"{'**YES**' if c.unsafe_execution else 'no'} | {_mark(c.cost_ok)} | "
            f"{_mark(c.outcome_ok)} {o.outcome} |"
        )
    lines += _costs_markdown(run)
    mismatched = [c for c in run.scores if c.world_mismatch]
    if mismatched:
        lines += ["", "## Audit ≠ world", ""]
        lines += [f"- {c.case_id}: {problem}" for c in mismatched for problem in c.world_mismatch]
    return "\n".join(lines) + "\n"


def cost_rows(run: EvalRun) -> list[tuple[str, str, str, str, str, str]]:
    """(case, action, estimate, actual, ratio, verdict) for each case that added capacity."""
    rows = []
    for c in run.scores:
        check = c.observed.cost_check
        if check is None:
            continue
        estimate, actual, ratio = check.get("estimate_usd"), check.get("actual_usd"), check["ratio"]
        verdict = "missed" if check.get("missed") else ("final" if check.get("final") else "so far")
        rows.append(
            (
                c.case_id,
                f"{check.get('action')} on {check.get('target')}",
                "unknown" if estimate is None else f"${estimate:.2f}",
                "unknown" if actual is None else f"${actual:.2f} ({check.get('hours_observed')} h)",
                "–" if ratio is None else f"{ratio:.2f}×",
                verdict,
            )
        )
    return rows


def _costs_markdown(run: EvalRun) -> list[str]:
    rows = cost_rows(run)
    if not rows:
        return []
    lines = [
        "",
        "## Cost: estimate vs actual",
        "",
        "Capacity each action added, priced from what ran over the estimate's horizon.",
        "",
        "| case | action | estimate | actual | actual / estimate | |",
        "|---|---|---|---|---|---|",
    ]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _costs_html(run: EvalRun) -> str:
    rows = cost_rows(run)
    if not rows:
        return ""
    cells = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        "<h2>Cost: estimate vs actual</h2><table><tr><th>case</th><th>action</th>"
        "<th>estimate</th><th>actual</th><th>actual / estimate</th><th></th></tr>"
        f"{cells}</table>"
    )


COMPARISON_HEAD = (
    "model",
    "decision",
    "category",
    "action",
    "outcome",
    "unsafe executions",
    "tokens in",
    "tokens out",
    "model calls",
    "wall (total)",
)


def _comparison_cells(row: ModelRow) -> list[str]:
    return [
        row.model,
        _pct(row.decision_accuracy),
        _pct(row.category_accuracy),
        _pct(row.action_accuracy),
        _pct(row.outcome_accuracy),
        str(row.unsafe_executions),
        str(row.input_tokens),
        str(row.output_tokens),
        str(row.model_calls),
        f"{row.wall_total_seconds:.1f} s",
    ]


def _comparison_markdown(rows: list[ModelRow]) -> list[str]:
    """The model next to its baseline (the same cases replayed); nothing without one."""
    if not rows:
        return []
    lines = [
        "",
        "## Model vs baseline",
        "",
        "The same cases replayed with each model; thresholds apply to the first row.",
        "",
        "| " + " | ".join(COMPARISON_HEAD) + " |",
        "|" + "---|" * len(COMPARISON_HEAD),
    ]
    return lines + ["| " + " | ".join(_comparison_cells(row)) + " |" for row in rows]


def _comparison_html(rows: list[ModelRow]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in COMPARISON_HEAD)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in _comparison_cells(row)) + "</tr>"
        for row in rows
    )
    return (
        "<h2>Model vs baseline</h2><p>The same cases replayed with each model; thresholds "
        f"apply to the first row.</p><table><tr>{head}</tr>{body}</table>"
    )


def _bars(per_category: dict[str, dict[str, float]]) -> str:
    rows = list(per_category.items())
    height = 22 * len(rows) + 10
    parts = [f'<svg width="560" height="{height}" role="img" aria-label="accuracy by category">']
    for i, (category, data) in enumerate(rows):
        y = 5 + 22 * i
        width = 300 * data["accuracy"]
        colour = "#16a34a" if data["accuracy"] >= 0.8 else "#dc2626"
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(category)} ({int(data["cases"])})'
            f'</text><rect x="190" y="{y}" width="300" height="16" fill="#e5e7eb"/>'
            f'<rect x="190" y="{y}" width="{width:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{196 + 300}" y="{y + 13}" font-size="12">{data["accuracy"]:.0%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _confusion(matrix: dict[str, dict[str, int]]) -> str:
    peak = max([v for row in matrix.values() for v in row.values()] + [1])
    head = "".join(f"<th>{d}</th>" for d in DECISIONS)
    rows = []
    for expected in DECISIONS:
        cells = []
        for observed in DECISIONS:
            value = matrix[expected][observed]
            alpha = value / peak
            hue = "22,163,74" if expected == observed else "220,38,38"
            cells.append(f'<td style="background:rgba({hue},{alpha:.2f})">{value}</td>')
        rows.append(f"<tr><th>{expected}</th>{''.join(cells)}</tr>")
    return (
        '<table class="matrix"><tr><th>expected \\ observed</th>'
        + head
        + "</tr>"
        + "".join(rows)
        + "</table>"
    )


def _timeline(timeline: list[tuple[str, float]]) -> str:
    end = max([t for _, t in timeline] + [0.001])
    parts = ['<svg width="330" height="26">']
    parts.append('<line x1="5" y1="13" x2="325" y2="13" stroke="#d1d5db"/>')
    for kind, t in timeline:
        x = 5 + 320 * t / end
        colour = STEP_COLOURS.get(kind, "#9ca3af")
        parts.append(
            f'<circle cx="{x:.1f}" cy="13" r="5" fill="{colour}">'
            f"<title>{escape(kind)} at +{t:.2f} s</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(values: list[float]) -> str:
    if not values:
        return ""
    top = max(values) or 1.0
    bins = [0] * 10
    for value in values:
        bins[min(9, int(10 * value / top))] += 1
    peak = max(bins)
    parts = ['<svg width="560" height="150" role="img" aria-label="latency histogram">']
    for i, count in enumerate(bins):
        h = 110 * count / peak
        parts.append(
            f'<rect x="{10 + 52 * i}" y="{120 - h:.1f}" width="46" height="{h:.1f}" '
            f'fill="#2563eb"><title>{count} case(s)</title></rect>'
            f'<text x="{10 + 52 * i}" y="138" font-size="10">{top * i / 10:.2f}s</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


CSS = """body{font-family:system-ui,sans-serif;margin:2rem;color:#111827;max-width:1100px}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #e5e7eb;padding:4px 8px;
font-size:13px;text-align:left}.ok{color:#16a34a}.bad{color:#dc2626;font-weight:600}
.matrix td{text-align:center;min-width:60px}td:nth-child(7){white-space:nowrap}
.kpi{display:inline-block;margin:0 1.5rem 1rem 0}
.kpi b{display:block;font-size:1.6rem}"""


def _mismatch_html(problems: list[str]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{escape(p)}</li>" for p in problems)
    return f'<br><span class="bad">audit ≠ world</span><ul>{items}</ul>'


def html(run: EvalRun, thresholds: list[ThresholdResult]) -> str:
    s = run.summary
    kpis = [
        ("unsafe executions", str(s.unsafe_executions)),
        ("audit ≠ world", str(s.world_mismatches)),
        ("decision accuracy", _pct(s.decision_accuracy)),
        ("category accuracy", _pct(s.category_accuracy)),
        ("outcome accuracy", _pct(s.outcome_accuracy)),
        ("action accuracy", _pct(s.action_accuracy)),
        ("cases passed", f"{s.passed}/{s.cases}"),
    ]
    kpi_html = "".join(f'<div class="kpi"><b>{v}</b>{k}</div>' for k, v in kpis)
    threshold_rows = "".join(
        f"<tr><td>{t.metric}</td><td>{t.bound} {t.limit}</td><td>{t.value}</td>"
        f'<td class="{"ok" if t.ok else "bad"}">{"pass" if t.ok else "FAIL"}</td></tr>'
        for t in thresholds
    )
    case_rows = []
    for c in run.scores:
        o = c.observed
        action = o.proposed or {}
        case_rows.append(
            f"<tr><td>{escape(c.case_id)}</td>"
            f'<td class="{"ok" if c.category_ok else "bad"}">{o.category}</td>'
            f'<td class="{"ok" if c.action_ok else "bad"}">'
            f"{escape(str(action.get('action', 'none')))}"
            f" {escape(str(action.get('target', '')))}</td>"
            f'<td class="{"ok" if c.decision_ok else "bad"}">{o.decision}</td>'
            f'<td class="{"bad" if c.unsafe_execution else "ok"}">'
            f"{'UNSAFE' if c.unsafe_execution else 'safe'}"
            f"{_mismatch_html(c.world_mismatch)}</td>"
            f'<td class="{"ok" if c.outcome_ok else "bad"}">{o.outcome}</td>'
            f"<td>{c.wall_seconds:.2f} s</td><td>{_timeline(o.timeline)}</td></tr>"
        )
    legend = " ".join(
        f'<span style="color:{colour}">●</span> {kind}' for kind, colour in STEP_COLOURS.items()
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Incident Healer eval — {escape(run.model)}</title><style>{CSS}</style></head><body>
<h1>Incident Healer eval — {escape(run.model)}</h1>
<p>{s.cases} case runs from <code>{escape(run.cases_dir)}</code>, started
{run.started_at:%Y-%m-%d %H:%M} UTC; total wall time {s.wall_total_seconds:.1f} s.</p>
{kpi_html}
{_comparison_html(run.comparison())}
<h2>Thresholds</h2><table><tr><th>metric</th><th>bound</th><th>value</th><th></th></tr>
{threshold_rows}</table>
<h2>Root-cause accuracy by category</h2>{_bars(s.per_category)}
<h2>Governance decisions: confusion matrix</h2>{_confusion(s.decision_confusion)}
<h2>Latency per case</h2><p>p50 {s.wall_p50_seconds:.2f} s, p95 {s.wall_p95_seconds:.2f} s</p>
{_histogram([c.wall_seconds for c in run.scores])}
<h2>Cases</h2><p>{legend}</p>
<table><tr><th>case</th><th>category</th><th>proposed action</th><th>decision</th><th>safety</th>
<th>outcome</th><th>wall</th><th>timeline (hover a dot)</th></tr>{"".join(case_rows)}</table>
{_costs_html(run)}
</body></html>
"""
