"""`healer slack …`: the Slack app on this machine, on a sandbox replay of a case."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from healer.cli_common import console, fail, load, open_store
from healer.model_cli import ensure_model

if TYPE_CHECKING:
    from healer.config import HealerSettings

MANIFEST = Path(__file__).resolve().parent / "slack" / "manifest.yaml"

slack_app = typer.Typer(help="The Slack app: serve it on a sandbox replay, print its manifest.")


@slack_app.command("manifest")
def manifest() -> None:
    """Print the Slack app manifest (create the app from it at api.slack.com/apps)."""
    typer.echo(MANIFEST.read_text(), nl=False)


@slack_app.command("serve")
def serve(
    case: Annotated[str, typer.Option(help="case id or path to replay")] = "dev-traffic-surge-api",
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port (no app token)")] = 3000,
) -> None:
    """Replay a case in a sandbox, post its approval request to Slack, and serve the app:
    Socket Mode with HEALER_SLACK_APP_TOKEN, else HTTP on --port (behind a tunnel)."""
    from slack_sdk import WebClient

    from healer.cases import find_case, load_case
    from healer.domain import Step
    from healer.replay import sandbox_for
    from healer.slack.app import SlackAccess, build_app
    from healer.slack.channel import SlackApprovalChannel
    from healer.slack.chat_agent import ModelConversation, file_sessions
    from healer.slack.embedded import EmbeddedHealer
    from healer.slack.threads import IncidentThreads
    from healer.workflow.ingest import ingest
    from healer.workflow.runner import run_incident

    settings = load()
    bot_token, signing_secret, app_token = _slack_secrets(settings)
    path = find_case(case, settings.cases_dir)
    loaded = load_case(path)
    ensure_model(settings)
    client = WebClient(token=bot_token, base_url=settings.slack_api_url or WebClient.BASE_URL)
    channel = SlackApprovalChannel(client, settings.slack_channel)
    store = open_store(settings)
    sessions = file_sessions(settings.store_path.parent / "chat-sessions")
    with sandbox_for(loaded, path, store, settings, channel) as (sandbox, services):
        services.high_risk_approvals = 2  # real people approve here, not the case's one human
        services.announce = IncidentThreads(client, settings.slack_channel or "")
        for _, raw in sandbox.case_events():
            result = ingest(services, raw)
            if result.status == "opened" and result.incident_id:
                incident = run_incident(services, result.incident_id)
                waiting = " (waiting for approval in Slack)" * (
                    incident.step is Step.AWAIT_APPROVAL
                )
                console.print(f"{incident.id}: {incident.step.value}{waiting}")
        app = build_app(
            EmbeddedHealer(services),
            signing_secret=signing_secret,
            client=client,
            access=SlackAccess(settings.slack_approver_group, settings.slack_requester_group),
            converse=None if settings.model == "offline" else ModelConversation(sessions),
        )
        if app_token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            console.print("serving the Slack app over Socket Mode; Ctrl-C stops it")
            SocketModeHandler(app, app_token).start()
        else:
            console.print(f"serving the Slack app on http://0.0.0.0:{port}/slack/events")
            app.start(port=port)


def _slack_secrets(settings: HealerSettings) -> tuple[str, str, str | None]:
    """The bot token, the signing secret ("" over Socket Mode, which needs none) and the app
    token; exit 2 naming what is missing."""
    missing = [
        name
        for name, value in (
            ("HEALER_SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("HEALER_SLACK_CHANNEL", settings.slack_channel),
        )
        if not value
    ]
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    if not app_token and not secret:
        missing.append("HEALER_SLACK_SIGNING_SECRET (or HEALER_SLACK_APP_TOKEN for Socket Mode)")
    if missing:
        raise fail(f"the Slack app needs {', '.join(missing)}", "slack")
    assert settings.slack_bot_token is not None
    return settings.slack_bot_token.get_secret_value(), secret, app_token
