"""How incidents, timelines, approval requests and audit reports look in a terminal."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from healer.timeline import event_detail

if TYPE_CHECKING:
    from healer.cases import Case
    from healer.domain import Approval, AuditEvent, GovernanceDecision, Incident, RemediationPlan
    from healer.replay import ReplayResult
    from healer.store import AuditReport, EventRecord, Store
    from healer.trust import Autonomy
    from healer.workflow.ingest import IngestResult

OUTCOME_STYLE = {
    "resolved": "green",
    "escalated": "yellow",
    "rejected": "red",
    "expired": "red",
    "no_action": "cyan",
    "closed": "cyan",
}


def case_header(console: Console, case: Case) -> None:
    console.rule(f"[bold]{escape(case.title)}[/]  [dim]({escape(case.id)})[/]")


def ingest_line(console: Console, outcome: IngestResult) -> None:
    style = {"opened": "bold", "correlated": "bold"}.get(outcome.status, "dim")
    alarm = outcome.alarm or "-"
    console.print(f"[{style}]event[/] {escape(alarm)}: {outcome.status} — {escape(outcome.reason)}")


def approval_request(
    console: Console,
    incident: Incident,
    plan: RemediationPlan,
    decision: GovernanceDecision,
    approval: Approval,
) -> None:
    from healer.slack.approval_message import approval_blocks, render_blocks_preview

    blocks = approval_blocks(incident, plan, decision, approval.id, approval.expires_at)
    console.print(
        Panel(
            escape(render_blocks_preview(blocks)),
            title="approval request, as it appears in Slack (Block Kit)",
            border_style="magenta",
        )
    )


def replay_outcome(console: Console, result: ReplayResult, store: Store) -> None:
    """What the simulated human decided, then each incident's report."""
    for decision in result.human_decisions:
        console.print(f"[bold]human[/]: {escape(decision)}")
    for incident in result.incidents:
        incident_report(console, incident, store.events(incident.id))


def incident_report(console: Console, incident: Incident, events: list[AuditEvent]) -> None:
    """Diagnosis, cost, decision, action and outcome, then the timeline."""
    plan = incident.plan
    lines = [
        f"[bold]incident[/] {escape(incident.id)}  alarms: {escape(', '.join(incident.alarms))}"
    ]
    if plan:
        d = plan.diagnosis
        lines.append(
            f"[bold]diagnosis[/] {d.category.value} (confidence {d.confidence:.2f}, "
            f"runbook {escape(str(d.runbook_id))})"
        )
        lines.append(f"  [dim]summary (model-written):[/] {escape(d.summary)}")
        if d.evidence:
            lines.append("  [dim]evidence, quoted from the account (data, not instructions):[/]")
            lines += [f"    │ {escape(item)}" for item in d.evidence[:6]]
        if plan.action:
            a = plan.action
            lines.append(
                f"[bold]action[/] {a.action.value} on {escape(a.target)} {escape(params(a.params))}"
            )
        if plan.cost:
            usd = "unknown" if plan.cost.usd is None else f"${plan.cost.usd:.2f}"
            lines.append(f"[bold]cost[/] {usd}: {escape(plan.cost.breakdown)}")
    if incident.governance:
        g = incident.governance
        lines.append(f"[bold]guardrail[/] {g.decision.value}, risk {g.risk.value}")
        lines += [f"  · {escape(reason)}" for reason in g.reasons]
    if incident.execution:
        lines.append(
            f"[bold]execution[/] {incident.execution.get('status')}: "
            f"{escape(str(incident.execution.get('result', {}).get('detail', '')))}"
        )
    checks = [e.data for e in events if e.kind == "cost_checked"]
    if checks:
        lines.append(_cost_check(checks[-1]))
    outcome = incident.outcome.value if incident.outcome else f"waiting ({incident.step.value})"
    style = OUTCOME_STYLE.get(outcome, "bold")
    lines.append(f"[bold]outcome[/] [{style}]{outcome}[/]")
    if incident.step.value == "await_fix":
        lines.append(
            "  shadow mode: nothing was executed. Fix it as you would, then "
            f"`healer incidents close {escape(incident.id)} --fixed-by ACTION` scores the "
            "recommendation"
        )
    console.print(Panel("\n".join(lines), border_style=style))
    console.print(timeline(events))


def _cost_check(check: dict[str, Any]) -> str:
    """Estimate against actual for capacity an action added."""
    actual, estimate, ratio = check.get("actual_usd"), check.get("estimate_usd"), check.get("ratio")
    state = "final" if check.get("final") else "so far"
    line = (
        f"[bold]actual cost[/] {_usd(actual)} over {check.get('hours_observed')} h ({state}) "
        f"against the estimate {_usd(estimate)}"
        + (f": {ratio:.2f}×" if ratio is not None else "")
        + (" [red]missed by more than the allowed factor[/]" if check.get("missed") else "")
    )
    return line + f"\n  [dim]{escape(str(check.get('actual_breakdown')))}[/]"


def _usd(value: Any) -> str:
    return "unknown" if value is None else f"${value:.2f}"


def timeline(events: list[AuditEvent]) -> Table:
    """The audit trail as a timeline with the elapsed time of each step."""
    table = Table(title="timeline (audit trail)", show_lines=False, expand=False)
    for column in ("#", "time", "+", "event", "actor"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    if not events:
        return table
    previous = events[0].at
    for event in events:
        table.add_row(
            str(event.seq),
            local_time(event.at),
            f"{(event.at - previous).total_seconds():.2f}s",
            escape(event.kind),
            escape(event.actor),
            escape(event_detail(event)),
        )
        previous = event.at
    return table


def incident_table(console: Console, incidents: list[Incident]) -> None:
    table = Table(title="incidents")
    table.add_column("id", no_wrap=True, min_width=len("inc-20261207-201500-abcdef"))
    table.add_column("opened", no_wrap=True)
    for column in ("alarms", "category", "decision", "outcome"):
        table.add_column(column, overflow="fold")
    for incident in incidents:
        table.add_row(
            incident.id,
            local_time(incident.opened_at, with_date=True),
            escape(", ".join(incident.alarms)),
            incident.plan.diagnosis.category.value if incident.plan else "-",
            incident.governance.decision.value if incident.governance else "-",
            incident.outcome.value if incident.outcome else f"({incident.step.value})",
        )
    console.print(table)


def event_table(console: Console, records: list[EventRecord]) -> None:
    table = Table(title="delivered events")
    table.add_column("received", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("incident", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for record in records:
        table.add_row(
            local_time(record.received_at, with_date=True),
            record.status,
            record.incident_id or "-",
            escape(record.reason),
        )
    console.print(table)


def audit_report(console: Console, report: AuditReport) -> None:
    if report.ok:
        console.print(
            f"[green]audit verified[/]: {report.incidents_checked} incident(s), "
            f"{report.events_checked} event(s), {report.digests_checked} digest(s); "
            "the chain, its signed head and the digests are intact"
        )
        return
    console.print(f"[bold red]audit FAILED[/]: {len(report.problems)} problem(s)")
    for problem in report.problems:
        console.print(f"  {escape(str(problem))}")


def local_time(moment: datetime, with_date: bool = False) -> str:
    """A UTC moment in this machine's time zone, as a person on call reads it."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def params(values: dict[str, Any]) -> str:
    """Action parameters as `name=value`, never a Python repr."""
    return " ".join(f"{name}={value}" for name, value in values.items())


def trust_table(console: Console, rows: list[dict[str, Any]], rules: Autonomy) -> None:
    """`healer trust`: one row per (action, runbook) with what it needs for autopilot."""
    bar = rules.bar
    console.print(
        f"bar: Wilson lower bound ≥ {bar.min_success:.2f} over ≥ {bar.min_outcomes} outcomes, "
        f"{bar.rebuild} successes in a row after a failure · default mode {rules.default}"
    )
    if not rows:
        console.print("no outcomes recorded yet")
        return
    table = Table()
    for column in ("realm", "action", "runbook", "mode", "record", "bound", "autopilot", "needs"):
        table.add_column(column, overflow="fold")
    for row in rows:
        against = {k: row[k] for k in ("not_recovered", "action_failed", "rejected", "disagreed")}
        failures = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in against.items() if n)
        earned = row["trusted"]
        table.add_row(
            escape(row["realm"]),
            escape(row["action"]),
            escape(row["runbook"]),
            row["mode"],
            f"{row['successes']}/{row['outcomes']}" + (f" ({failures})" if failures else ""),
            f"{row['lower_bound']:.2f}",
            "[green]earned[/]" if earned else "not yet",
            "" if earned else (f"{row['needs']} more" if row["needs"] else "many"),
        )
    console.print(table)


def cost_table(console: Console, rows: list[dict[str, Any]]) -> None:
    """`healer costs`: each capacity-adding incident's estimate and actual, then per formula."""
    if not rows:
        console.print("no action has added capacity yet")
        return
    table = Table()
    for column in ("incident", "action", "estimate", "actual", "hours", "ratio", ""):
        table.add_column(column, overflow="fold")
    for row in rows:
        ratio = row.get("ratio")
        verdict = (
            "[red]missed[/]" if row.get("missed") else ("final" if row.get("final") else "so far")
        )
        table.add_row(
            escape(str(row["incident_id"])),
            escape(f"{row.get('action')} on {row.get('target')}"),
            _usd(row.get("estimate_usd")),
            _usd(row.get("actual_usd")),
            str(row.get("hours_observed")),
            "–" if ratio is None else f"{ratio:.2f}×",
            verdict,
        )
    console.print(table)
    for formula in sorted({str(row.get("formula")) for row in rows}):
        final = [r for r in rows if r.get("formula") == formula and r.get("final")]
        ratios = sorted(float(r["ratio"]) for r in final if r.get("ratio") is not None)
        middle = f", median actual/estimate {ratios[len(ratios) // 2]:.2f}×" if ratios else ""
        missed = sum(bool(r.get("missed")) for r in final)
        console.print(f"{formula}: {len(final)} final check(s), {missed} missed{middle}")
