"""`healer`: the command line (typer + rich).

Only light modules are imported here; each command imports the sandbox, the agents or the
knowledge base when it runs (tests/test_cli_speed.py keeps it so).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from healer import render
from healer.cli_common import HealerGroup, console, fail, load, open_store, printing_channel
from healer.eval_command import eval_command
from healer.kb_cli import kb_app
from healer.run_cli import ingest_command, run_command
from healer.slack_cli import slack_app

if TYPE_CHECKING:
    from rich.status import Status

    from healer.config import HealerSettings
    from healer.domain import Approval, GovernanceDecision, Incident, RemediationPlan
    from healer.store import Store
    from healer.workflow.services import Announce, ApprovalChannel, Services

app = typer.Typer(
    help="Incident Healer: heals AWS incidents, audited.",
    no_args_is_help=True,
    cls=HealerGroup,
    pretty_exceptions_enable=False,
)
incidents_app = typer.Typer(help="Incidents in the store.", no_args_is_help=True)
audit_app = typer.Typer(help="The HMAC-chained, digest-anchored audit log.", no_args_is_help=True)
deploy_app = typer.Typer(help="The serverless deployment on AWS.", no_args_is_help=True)
runbooks_app = typer.Typer(help="Runbooks and the drafts human fixes leave.", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")
app.add_typer(audit_app, name="audit")
app.add_typer(kb_app, name="kb")
app.add_typer(slack_app, name="slack")
app.add_typer(deploy_app, name="deploy")
app.add_typer(runbooks_app, name="runbooks")
app.command("eval")(eval_command)
app.command("run")(run_command)
app.command("ingest")(ingest_command)

AS_HELP = "Slack user id to act as (a local stand-in for Slack identity; not verified)"
DEMO_CASES = ("dev-disk-full-web", "dev-traffic-surge-api")


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"healer {version('incident-healer')}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="print the traceback of an error (or HEALER_DEBUG=1)")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Incident Healer: heals AWS incidents, audited."""


def _slack_json_channel(channel: str | None) -> ApprovalChannel:
    """A channel that prints exactly the `chat.postMessage` JSON each request would send."""
    from healer.slack.channel import approval_post
    from healer.workflow.services import RecordingChannel

    class SlackJsonChannel(RecordingChannel):
        def request(
            self,
            incident: Incident,
            plan: RemediationPlan,
            decision: GovernanceDecision,
            approval: Approval,
        ) -> None:
            super().request(incident, plan, decision, approval)
            post = approval_post(channel or "C_YOUR_CHANNEL", incident, plan, decision, approval)
            typer.echo(json.dumps({"method": "chat.postMessage", **post}, indent=2))

    return SlackJsonChannel()


def _slack_outputs(
    settings: HealerSettings, slack: bool, print_slack: bool
) -> tuple[ApprovalChannel, Announce | None]:
    """Where the demo's approval requests and incident timelines go: the terminal (default),
    the JSON Slack would be sent (`--print-slack`), or the configured Slack channel, approval
    messages and one thread per incident (`--slack`)."""
    if print_slack:
        return _slack_json_channel(settings.slack_channel), None
    if not slack:
        return printing_channel(), None
    if not (settings.slack_bot_token and settings.slack_channel):
        raise fail(
            "needs HEALER_SLACK_BOT_TOKEN and HEALER_SLACK_CHANNEL (or use --print-slack)",
            "--slack",
        )
    from slack_sdk import WebClient

    from healer.slack.channel import SlackApprovalChannel
    from healer.slack.threads import IncidentThreads

    token = settings.slack_bot_token.get_secret_value()
    client = WebClient(token=token, base_url=settings.slack_api_url or WebClient.BASE_URL)
    channel = settings.slack_channel
    return SlackApprovalChannel(client, channel), IncidentThreads(client, channel)


def _asker(
    settings: HealerSettings, wait: bool, status: Status
) -> Callable[[Incident], tuple[str, str] | None]:
    """How a waiting incident is answered: left waiting (`--wait`) or asked on the terminal,
    with the spinner stopped while the prompt shows."""

    def ask(incident: Incident) -> tuple[str, str] | None:
        if wait:
            console.print(
                f"[bold]{incident.id} waits for approval[/]: "
                f"healer approve {incident.id} --as USER  (or healer reject …)"
            )
            return None
        status.stop()
        try:
            return _prompt_decision(settings)
        finally:
            status.start()

    return ask


def _prompt_decision(settings: HealerSettings) -> tuple[str, str] | None:
    """approve / reject / wait (y/n accepted), then an approver's user id, asked again until it
    is one of the configured approvers."""
    answers = {"y": "approve", "yes": "approve", "n": "reject", "no": "reject"}
    while True:
        answer = typer.prompt("approve, reject or wait? [y/n/wait]", default="approve")
        answer = answers.get(answer.strip().lower(), answer.strip().lower())
        if answer in ("approve", "reject", "wait"):
            break
        console.print(f"please answer approve (y), reject (n) or wait, not {escape(answer)!r}")
    if answer == "wait":
        return None
    default_user = settings.approvers[0] if settings.approvers else ""
    for _ in range(3):
        user = typer.prompt("your Slack user id", default=default_user).strip()
        if not settings.approvers or user in settings.approvers:
            return answer, user
        console.print(
            f"{escape(user)} is not an approver (HEALER_APPROVERS: "
            f"{escape(', '.join(settings.approvers))}); try again"
        )
    return None


def _replay(
    case_ref: str,
    settings: HealerSettings,
    store: Store,
    interactive: bool,
    wait: bool = False,
    slack: tuple[ApprovalChannel, Announce | None] | None = None,
) -> list[Incident]:
    from healer.cases import find_case, load_case
    from healer.replay import replay_case

    path = find_case(case_ref, settings.cases_dir)
    case = load_case(path)
    render.case_header(console, case)
    channel, announce = slack or (printing_channel(), None)
    with console.status("replaying…") as status:
        ask = _asker(settings, wait, status)
        result = replay_case(
            case,
            path,
            store,
            settings,
            channel=channel,
            on_step=lambda incident, step: status.update(f"{incident.id}: {step}…"),
            on_ingest=lambda outcome: render.ingest_line(console, outcome),
            ask_human=ask if interactive or wait else None,
            announce=announce,
        )
    render.replay_outcome(console, result, store)
    console.print(f"[dim]replayed {escape(case.id)} in {result.wall_seconds:.1f} s[/]\n")
    return result.incidents


def _ready(settings: HealerSettings) -> None:
    """Check the model can serve a run before anything starts."""
    from healer.model_cli import ensure_model

    ensure_model(settings)


@app.command()
def demo(
    case: Annotated[
        list[str] | None, typer.Option("--case", help="case id or path (repeatable)")
    ] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", help="you answer approval requests")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option("--model", help="offline | bedrock[:ID] | anthropic[:ID] | openai:MODEL"),
    ] = None,
    slack: Annotated[
        bool, typer.Option("--slack", help="post approval requests to the configured channel")
    ] = False,
    print_slack: Annotated[
        bool, typer.Option("--print-slack", help="print the JSON Slack would be sent")
    ] = False,
) -> None:
    """Replay incidents end to end in a sandbox account: autopilot, then co-pilot."""
    import logging

    settings = load(**({"model": model} if model else {}))
    _ready(settings)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    store = open_store(settings)
    started = time.monotonic()
    incidents = []
    for ref in case or list(DEMO_CASES):
        outputs = _slack_outputs(settings, slack, print_slack)
        incidents += _replay(ref, settings, store, interactive, slack=outputs)
    report = store.verify()
    render.audit_report(console, report)
    console.print(
        f"[bold]{len(incidents)} incident(s) in {time.monotonic() - started:.1f} s; "
        f"store: {escape(str(settings.store_path))}[/]"
    )
    if not report.ok:
        raise typer.Exit(code=1)


@app.command()
def replay(
    path: Path,
    wait: Annotated[
        bool, typer.Option("--wait", help="leave approval requests open for `healer approve`")
    ] = False,
) -> None:
    """Replay one case file and print its timeline."""
    settings = load()
    _ready(settings)
    _replay(str(path), settings, open_store(settings), interactive=False, wait=wait)


def find_incident(store: Store, ref: str) -> Incident:
    """The incident with this id or unique id prefix; an expired approval expires as it is read."""
    from healer.workflow.approvals import settle_in

    incident = store.get(ref)
    if incident is None:
        matches = [i for i in store.list(-1) if i.id.startswith(ref)] if ref else []
        if not matches:
            raise fail(f"no incident {ref} (healer incidents list shows them)", "incident")
        if len(matches) > 1:
            ids = ", ".join(i.id for i in matches[:5])
            raise fail(f"{ref} is the start of {len(matches)} incident ids ({ids})", "incident")
        incident = matches[0]
    settle_in(store, datetime.now(UTC), incident)
    return incident


@incidents_app.command("list")
def incidents_list(limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """The newest incidents with their step and outcome."""
    from healer.workflow.approvals import settle_in

    store = open_store(load())
    incidents = store.list(limit)
    now = datetime.now(UTC)
    for incident in incidents:
        settle_in(store, now, incident)
    render.incident_table(console, incidents)


@incidents_app.command("show")
def incidents_show(incident_id: str) -> None:
    """One incident: diagnosis, decision, action and timeline (an id prefix is enough)."""
    store = open_store(load())
    incident = find_incident(store, incident_id)
    render.incident_report(console, incident, store.events(incident.id))


@incidents_app.command("resume")
def incidents_resume(incident_id: str) -> None:
    """Run a stopped incident on from its step (after a crash or an error): a side effect that
    already happened is not repeated."""
    from healer.domain import Step
    from healer.workflow.runner import run_incident

    settings = load()
    store = open_store(settings)
    incident = find_incident(store, incident_id)
    if incident.step is Step.DONE:
        raise fail(f"{incident.id} is closed ({incident.outcome}): nothing to resume", "incident")
    with _services_for(incident, settings, store) as services, console.status("resuming…"):
        incident = run_incident(services, incident.id)
    render.incident_report(console, incident, store.events(incident.id))


@incidents_app.command("close")
def incidents_close(
    incident_id: str,
    reason: Annotated[str | None, typer.Option("--reason", help="why, for the audit trail")] = None,
    fixed_by: Annotated[
        str | None,
        typer.Option(
            "--fixed-by",
            help="how a human fixed it: a catalog action (or `other`), optionally "
            "ACTION@TARGET; scores a shadow recommendation",
        ),
    ] = None,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)] = "cli",
) -> None:
    """Close an incident the healer should stop working on (audited, with who and why)."""
    from healer.workflow.manual import close_by_human

    if reason is None and fixed_by is None:
        raise fail("say why (--reason) or how it was fixed (--fixed-by)", "incidents close")
    fix = _fix(fixed_by) if fixed_by else None
    settings = load()
    store = open_store(settings)
    incident = find_incident(store, incident_id)
    why = reason or f"fixed by a human: {fixed_by}"
    recorded = close_by_human(
        store,
        incident,
        as_user,
        why,
        datetime.now(UTC),
        fix,
        settings.autonomy_rules().bar,
        settings.runbook_drafts_dir,
    )
    console.print(f"closed {incident.id}" if incident.closed_at else "recorded the fix")
    recommended = incident.plan.action if incident.plan else None
    if recorded and recorded.agreed is not None and recommended is not None:
        verdict = "agrees with" if recorded.agreed else "differs from"
        console.print(
            f"the fix {verdict} the shadow recommendation "
            f"({recommended.action.value} on {escape(recommended.target)})"
        )
    if recorded and recorded.draft:
        console.print(f"drafted a runbook for review: {escape(recorded.draft)}")


def _fix(text: str) -> tuple[str, str | None]:
    from healer.domain import ActionId

    action, _, target = text.partition("@")
    choices = sorted(a.value for a in ActionId)
    if action not in {*choices, "other"}:
        raise fail(
            f"{action!r} is not a catalog action ({', '.join(choices)}, other)", "--fixed-by"
        )
    return action, target or None


@runbooks_app.command("drafts")
def runbooks_drafts() -> None:
    """Runbook drafts written from human fixes where no runbook fitted; none is used until a
    human edits it and moves it into the runbooks folder."""
    from knowledge_base.drafts import list_drafts

    folder = load().runbook_drafts_dir
    drafts = list_drafts(folder)
    if not drafts:
        console.print(f"no drafts in {escape(str(folder))}")
        return
    table = Table(title=f"runbook drafts ({escape(str(folder))})")
    for column in ("draft", "incident", "category", "fixed by", "drafted"):
        table.add_column(column, overflow="fold")
    for d in drafts:
        table.add_row(
            *(escape(cell) for cell in (d.path, d.incident, d.category, d.fixed_by, d.drafted_at))
        )
    console.print(table)


@app.command("costs")
def costs_command(
    as_json: Annotated[bool, typer.Option("--json", help="print the checks as JSON")] = False,
) -> None:
    """Estimate against actual cost for every incident whose action added capacity, and how
    each cost formula has done."""
    checks: dict[str, dict[str, object]] = {}
    for event in open_store(load()).events_of_kind("cost_checked"):
        checks[event.incident_id] = {"incident_id": event.incident_id, **event.data}
    rows = list(checks.values())  # the latest check of each incident
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    render.cost_table(console, rows)


@app.command("trust")
def trust_command(
    as_json: Annotated[bool, typer.Option("--json", help="print the table as JSON")] = False,
) -> None:
    """Each action type's autonomy mode and measured record, and what it needs for autopilot."""
    from healer.trust import Result, standing
    from healer.workflow.outcomes import realm_records, realms

    settings = load()
    rules = settings.autonomy_rules()
    store = open_store(settings)
    rows = []
    for realm in realms(store):
        for (action, runbook), record in sorted(realm_records(store, realm).items()):
            now = standing(record, rules.bar)
            rows.append(
                {
                    "realm": realm,
                    "action": action,
                    "runbook": runbook,
                    "mode": rules.actions.get(action, rules.default).value,
                    "outcomes": len(record.results),
                    "successes": record.successes,
                    **{result.value: record.count(result) for result in Result},
                    "lower_bound": round(now.lower_bound, 3),
                    "trusted": now.trusted,
                    "needs": now.needs,
                    "why": now.why,
                }
            )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    render.trust_table(console, rows, rules)


@audit_app.command("verify")
def audit_verify(incident_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """Verify the audit log, its signed head, digests and triggers; exit 1 naming each problem."""
    store = open_store(load())
    if incident_id is not None:
        incident_id = find_incident(store, incident_id).id
    report = store.verify(incident_id)
    render.audit_report(console, report)
    if not report.ok:
        raise typer.Exit(code=1)


@contextmanager
def _services_for(incident: Incident, settings: HealerSettings, store: Store) -> Iterator[Services]:
    """Services bound to the incident's world: its sandbox case again, or the AWS account."""
    case_path = incident.runtime.get("sandbox_case")
    _ready(settings)
    if not case_path:
        if settings.store_backend != "dynamodb":
            raise fail("this incident runs on AWS: answer it in Slack or through the workflow")
        from healer.aws_services import aws_services

        yield aws_services(settings, channel=printing_channel())
        return
    from healer.cases import load_case
    from healer.replay import sandbox_for

    case = load_case(Path(case_path))
    with sandbox_for(
        case, Path(case_path), store, settings, printing_channel(), world=incident.world
    ) as (_, services):
        yield services


def _decide(incident_id: str, user: str, approve: bool) -> None:
    from healer.domain import Step
    from healer.workflow.approvals import approve as approve_incident
    from healer.workflow.approvals import reject as reject_incident
    from healer.workflow.runner import run_incident

    settings = load()
    store = open_store(settings)
    incident = find_incident(store, incident_id)
    if incident.step is not Step.AWAIT_APPROVAL:
        raise fail(f"{incident.id} is not waiting for approval ({incident.step})", "incident")
    if not incident.runtime.get("sandbox_case"):
        raise fail("this incident runs on AWS: answer it in Slack or through the workflow")
    with _services_for(incident, settings, store) as services:
        (approve_incident if approve else reject_incident)(services, incident.id, user)
        with console.status("resuming…"):
            incident = run_incident(services, incident.id)
    render.incident_report(console, incident, store.events(incident.id))


@app.command()
def approve(incident_id: str, as_user: Annotated[str, typer.Option("--as", help=AS_HELP)]) -> None:
    """Approve the pending action of an incident, as an allowed approver; it then runs.

    `--as` is a local stand-in for a Slack identity: on one machine nothing proves who you are,
    so use it only for sandbox replays. On AWS, approvals come from verified Slack requests.
    """
    _decide(incident_id, as_user, approve=True)


@app.command()
def reject(incident_id: str, as_user: Annotated[str, typer.Option("--as", help=AS_HELP)]) -> None:
    """Reject the pending action of an incident; nothing runs."""
    _decide(incident_id, as_user, approve=False)


@app.command()
def events(limit: Annotated[int, typer.Option(min=1)] = 30) -> None:
    """Delivered events, accepted or not, each with the reason."""
    render.event_table(console, open_store(load()).list_events(limit))


@deploy_app.command("check")
def deploy_check() -> None:
    """What the deployment needs (settings, table, secrets, buckets, model access, knowledge
    base, Slack) and what is missing; exit 1 while anything is."""
    import boto3

    from healer.deploy_check import deployment_checks

    settings = load()
    checks = deployment_checks(settings, boto3.session.Session(region_name=settings.region))
    for check in checks:
        mark = "[green]ok[/]     " if check.ok else "[bold red]missing[/]"
        console.print(f"{mark} {escape(check.name)}: {escape(check.detail)}")
    if not all(check.ok for check in checks):
        raise typer.Exit(code=1)
