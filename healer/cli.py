"""`healer`: the command line (typer + rich)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from healer import render
from healer.cases import find_case, load_case
from healer.config import HealerSettings, load_settings
from healer.configured_store import configured_store
from healer.domain import Approval, GovernanceDecision, Incident, RemediationPlan, Step
from healer.errors import ActionRejected, CaseError, ConfigError
from healer.eval_command import eval_command
from healer.kb_cli import kb_app
from healer.model_cli import ensure_model, model_failures_exit
from healer.replay import replay_case, sandbox_for
from healer.slack.channel import SlackApprovalChannel, approval_post
from healer.slack_cli import slack_app
from healer.store import Store
from healer.workflow.approvals import approve as approve_incident
from healer.workflow.approvals import reject as reject_incident
from healer.workflow.runner import run_incident
from healer.workflow.services import Announce, ApprovalChannel, RecordingChannel

app = typer.Typer(help="Incident Healer: heals AWS incidents, audited.", no_args_is_help=True)
incidents_app = typer.Typer(help="Incidents in the store.", no_args_is_help=True)
audit_app = typer.Typer(help="The HMAC-chained, digest-anchored audit log.", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")
app.add_typer(audit_app, name="audit")
app.add_typer(kb_app, name="kb")
app.add_typer(slack_app, name="slack")
app.command("eval")(eval_command)
console = Console(highlight=False)

AS_HELP = "Slack user id to act as (a local stand-in for Slack identity; not verified)"
DEMO_CASES = ("dev-disk-full-web", "dev-traffic-surge-api")


def _settings(**overrides: str) -> HealerSettings:
    try:
        return load_settings(**overrides)
    except ValueError as exc:
        raise _fail(f"invalid configuration: {exc}") from exc


def _store(settings: HealerSettings) -> Store:
    try:
        return configured_store(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


class _PrintingChannel(RecordingChannel):
    """Shows each approval request as it would appear in Slack."""

    def request(
        self,
        incident: Incident,
        plan: RemediationPlan,
        decision: GovernanceDecision,
        approval: Approval,
    ) -> None:
        super().request(incident, plan, decision, approval)
        render.approval_request(console, incident, plan, decision, approval)


class _SlackJsonChannel(RecordingChannel):
    """Prints exactly the `chat.postMessage` JSON each approval request would send."""

    def __init__(self, channel: str | None) -> None:
        super().__init__()
        self._channel = channel or "C_YOUR_CHANNEL"

    def request(
        self,
        incident: Incident,
        plan: RemediationPlan,
        decision: GovernanceDecision,
        approval: Approval,
    ) -> None:
        super().request(incident, plan, decision, approval)
        post = approval_post(self._channel, incident, plan, decision, approval)
        typer.echo(json.dumps({"method": "chat.postMessage", **post}, indent=2))


def _slack_outputs(
    settings: HealerSettings, slack: bool, print_slack: bool
) -> tuple[ApprovalChannel, Announce | None]:
    """Where the demo's approval requests and incident timelines go: the terminal (default),
    the JSON Slack would be sent (`--print-slack`), or the configured Slack channel, approval
    messages and one thread per incident (`--slack`)."""
    if print_slack:
        return _SlackJsonChannel(settings.slack_channel), None
    if not slack:
        return _PrintingChannel(), None
    if not (settings.slack_bot_token and settings.slack_channel):
        raise _fail(
            "--slack needs HEALER_SLACK_BOT_TOKEN and HEALER_SLACK_CHANNEL (or use --print-slack)"
        )
    from slack_sdk import WebClient

    from healer.slack.threads import IncidentThreads

    token = settings.slack_bot_token.get_secret_value()
    client = WebClient(token=token, base_url=settings.slack_api_url or WebClient.BASE_URL)
    channel = settings.slack_channel
    return SlackApprovalChannel(client, channel), IncidentThreads(client, channel)


def _replay(
    case_ref: str,
    settings: HealerSettings,
    store: Store,
    interactive: bool,
    wait: bool = False,
    slack: tuple[ApprovalChannel, Announce | None] | None = None,
) -> list[Incident]:
    try:
        path = find_case(case_ref, settings.cases_dir)
        case = load_case(path)
    except CaseError as exc:
        raise _fail(str(exc)) from exc
    render.case_header(console, case)
    channel, announce = slack or (_PrintingChannel(), None)

    def ask(incident: Incident) -> tuple[str, str] | None:
        if wait:
            console.print(
                f"[bold]{incident.id} waits for approval[/]: "
                f"healer approve {incident.id} --as USER  (or healer reject …)"
            )
            return None
        answer = typer.prompt("approve, reject or wait?", default="approve")
        if answer not in ("approve", "reject"):
            return None
        default_user = settings.approvers[0] if settings.approvers else ""
        return answer, typer.prompt("your Slack user id", default=default_user)

    with console.status("replaying…") as status:
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
    for decision in result.human_decisions:
        console.print(f"[bold]human[/]: {decision}")
    for incident in result.incidents:
        render.incident_report(console, incident, store.events(incident.id))
    console.print(f"[dim]replayed {case.id} in {result.wall_seconds:.1f} s[/]\n")
    return result.incidents


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
    settings = _settings(**({"model": model} if model else {}))
    ensure_model(settings)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    store = _store(settings)
    started = time.monotonic()
    incidents = []
    with model_failures_exit():
        for ref in case or list(DEMO_CASES):
            outputs = _slack_outputs(settings, slack, print_slack)
            incidents += _replay(ref, settings, store, interactive, slack=outputs)
    report = store.verify()
    render.audit_report(console, report)
    console.print(
        f"[bold]{len(incidents)} incident(s) in {time.monotonic() - started:.1f} s; "
        f"store: {settings.store_path}[/]"
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
    settings = _settings()
    ensure_model(settings)
    with model_failures_exit():
        _replay(str(path), settings, _store(settings), interactive=False, wait=wait)


@incidents_app.command("list")
def incidents_list(limit: int = 20) -> None:
    """The newest incidents with their step and outcome."""
    settings = _settings()
    render.incident_table(console, _store(settings).list(limit))


@incidents_app.command("show")
def incidents_show(incident_id: str) -> None:
    """One incident: diagnosis, decision, action and timeline."""
    store = _store(_settings())
    incident = store.get(incident_id)
    if incident is None:
        raise _fail(f"no incident {incident_id}")
    render.incident_report(console, incident, store.events(incident_id))


@audit_app.command("verify")
def audit_verify(incident_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """Verify the audit log, its signed head, digests and triggers; exit 1 naming each problem."""
    report = _store(_settings()).verify(incident_id)
    render.audit_report(console, report)
    if not report.ok:
        raise typer.Exit(code=1)


def _decide(incident_id: str, user: str, approve: bool) -> None:
    settings = _settings()
    store = _store(settings)
    incident = store.get(incident_id)
    if incident is None:
        raise _fail(f"no incident {incident_id}")
    case_path = incident.runtime.get("sandbox_case")
    if incident.step != Step.AWAIT_APPROVAL:
        raise _fail(f"incident {incident_id} is not waiting for approval ({incident.step})")
    if not case_path:
        raise _fail("this incident runs on AWS: answer it in Slack or through the workflow")
    case = load_case(Path(case_path))
    ensure_model(settings)
    with (
        model_failures_exit(),
        sandbox_for(
            case, Path(case_path), store, settings, _PrintingChannel(), world=incident.world
        ) as (_, services),
    ):
        try:
            if approve:
                approve_incident(services, incident_id, user)
            else:
                reject_incident(services, incident_id, user)
        except (ActionRejected, ConfigError) as exc:
            raise _fail(str(exc)) from exc
        with console.status("resuming…"):
            incident = run_incident(services, incident_id)
    render.incident_report(console, incident, store.events(incident_id))


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
def events(limit: int = 30) -> None:
    """Delivered events, accepted or not, each with the reason."""
    render.event_table(console, _store(_settings()).list_events(limit))


deploy_app = typer.Typer(help="The serverless deployment on AWS.", no_args_is_help=True)
app.add_typer(deploy_app, name="deploy")


@deploy_app.command("check")
def deploy_check() -> None:
    """What the deployment needs (settings, table, secrets, buckets, model access, knowledge
    base, Slack) and what is missing; exit 1 while anything is."""
    import boto3

    from healer.deploy_check import deployment_checks

    settings = _settings()
    checks = deployment_checks(settings, boto3.session.Session(region_name=settings.region))
    for check in checks:
        mark = "[green]ok[/]     " if check.ok else "[bold red]missing[/]"
        console.print(f"{mark} {escape(check.name)}: {escape(check.detail)}")
    if not all(check.ok for check in checks):
        raise typer.Exit(code=1)


@app.command()
def run(
    events_file: Annotated[Path, typer.Argument(help="EventBridge alarm event(s): JSON or NDJSON")],
    aws: Annotated[
        bool, typer.Option("--aws", help="on the real account: boto3 clients, DynamoDB store")
    ] = False,
) -> None:
    """Ingest alarm events and heal their incidents with the local runner, on the account of
    your AWS credentials (the store, audit key and digest bucket of `healer deploy check`).
    An action that needs approval waits for it in Slack."""
    from healer.aws_services import aws_services
    from healer.workflow.ingest import ingest

    settings = _settings(**({"store_backend": "dynamodb"} if aws else {}))
    if settings.store_backend != "dynamodb":
        raise _fail("run needs --aws or HEALER_STORE_BACKEND=dynamodb (a sandbox: `healer replay`)")
    raw_events = _read_events(events_file)
    try:
        services = aws_services(settings, channel=_PrintingChannel())
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    with model_failures_exit():
        for raw in raw_events:
            outcome = ingest(services, raw)
            render.ingest_line(console, outcome)
            if outcome.status != "opened" or outcome.incident_id is None:
                continue
            incident = run_incident(services, outcome.incident_id)
            render.incident_report(console, incident, services.store.events(incident.id))


def _read_events(path: Path) -> list[object]:
    """One EventBridge event (a JSON object), a JSON list of them, or one per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{path}: {exc}") from exc
    try:
        parsed = json.loads(text)
        return parsed if isinstance(parsed, list) else [parsed]
    except ValueError:
        pass
    events: list[object] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise _fail(f"{path}:{number}: not JSON ({exc.msg})") from exc
    return events
