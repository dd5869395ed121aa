"""`healer run` and `healer ingest`: alarm events from a file, stdin or an SQS queue, on a
sandbox account (`--sandbox CASE`) or the real one (`--aws`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from healer import render
from healer.cli_common import console, fail, load, open_store, printing_channel

if TYPE_CHECKING:
    from healer.config import HealerSettings
    from healer.domain import Incident
    from healer.intake import Batches
    from healer.store import Store
    from healer.workflow.ingest import IngestResult
    from healer.workflow.services import Services

EventsOption = Annotated[
    str | None,
    typer.Option("--events", metavar="FILE|-", help="EventBridge event(s): JSON or NDJSON"),
]
SqsOption = Annotated[
    str | None,
    typer.Option("--sqs", metavar="QUEUE_URL", help="an SQS queue an EventBridge rule feeds"),
]
SandboxOption = Annotated[
    str | None,
    typer.Option("--sandbox", metavar="CASE", help="a sandbox account seeded from this case"),
]
AwsOption = Annotated[
    bool, typer.Option("--aws", help="the real account: boto3 clients, the DynamoDB store")
]


def run_command(
    events: EventsOption = None,
    sqs: SqsOption = None,
    sandbox: SandboxOption = None,
    aws: AwsOption = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="sandbox: leave approvals for `healer approve`")
    ] = False,
    until_empty: Annotated[
        bool, typer.Option("--until-empty", help="sqs: stop when a receive finds nothing")
    ] = False,
    visibility_timeout: Annotated[
        int, typer.Option(min=1, max=43200, help="sqs: seconds a received event stays hidden")
    ] = 300,
) -> None:
    """Ingest alarm events and heal their incidents.

    Events come from `--events FILE` (`-`: stdin), `--sqs QUEUE_URL` (long polling; an event is
    deleted once recorded), or with `--sandbox` alone the case's own timeline. On `--aws` an
    action that needs approval waits for it in Slack; in a sandbox the case's human answers it
    (or, with `--wait`, you do with `healer approve`).
    """
    settings, store = _world_settings(sandbox, aws)
    batches = _source(events, sqs, settings, until_empty, visibility_timeout, needed=not sandbox)
    if sandbox:
        _run_in_sandbox(sandbox, settings, store, batches, wait)
    else:
        assert batches is not None
        _run_on_aws(settings, batches)


def ingest_command(
    events: Annotated[str, typer.Argument(metavar="FILE|-", help="EventBridge event(s)")],
    sandbox: SandboxOption = None,
    aws: AwsOption = False,
) -> None:
    """Ingest event(s) and print what became of each (opened, joined, duplicate, suppressed,
    rejected, with the reason); run nothing."""
    from healer.intake import deliver

    settings, store = _world_settings(sandbox, aws)
    batches = _source(events, None, settings, False, 300, needed=True)
    assert batches is not None
    with _world(sandbox, settings, store) as services:
        for batch in batches:
            deliver(services, batch, on_ingest=_print_ingest)


def _world_settings(sandbox: str | None, aws: bool) -> tuple[HealerSettings, Store]:
    if sandbox and aws:
        raise fail("choose one world: --sandbox CASE or --aws", "--aws")
    settings = load(**({"store_backend": "dynamodb"} if aws else {}))
    if not sandbox and settings.store_backend != "dynamodb":
        raise fail(
            "choose a world: --sandbox CASE (a sandbox account) or --aws (your AWS account)",
            "run",
        )
    from healer.model_cli import ensure_model

    ensure_model(settings)
    return settings, open_store(settings)


def _source(
    events: str | None,
    sqs: str | None,
    settings: HealerSettings,
    until_empty: bool,
    visibility_timeout: int,
    needed: bool,
) -> Batches | None:
    from healer.intake import file_batches, sqs_batches

    if events and sqs:
        raise fail("choose one source: --events or --sqs", "--sqs")
    if events:
        return file_batches(events)
    if sqs:
        import boto3

        client = boto3.client("sqs", region_name=settings.region)
        return sqs_batches(
            client, sqs, until_empty=until_empty, visibility_seconds=visibility_timeout
        )
    if needed:
        raise fail("give events: --events FILE|- or --sqs QUEUE_URL", "run")
    return None


def _print_ingest(outcome: IngestResult) -> None:
    render.ingest_line(console, outcome)


def _run_in_sandbox(
    case_ref: str, settings: HealerSettings, store: Store, batches: Batches | None, wait: bool
) -> None:
    from healer.cases import find_case, load_case
    from healer.replay import replay_case

    path = find_case(case_ref, settings.cases_dir)
    case = load_case(path)
    render.case_header(console, case)

    def leave_waiting(incident: Incident) -> None:
        console.print(
            f"[bold]{escape(incident.id)} waits for approval[/]: "
            f"healer approve {escape(incident.id)} --as USER  (or healer reject …)"
        )

    result = replay_case(
        case,
        path,
        store,
        settings,
        channel=printing_channel(),
        on_ingest=_print_ingest,
        ask_human=leave_waiting if wait else None,
        batches=batches,
    )
    render.replay_outcome(console, result, store)
    console.print(f"[dim]{len(result.incidents)} incident(s) in {result.wall_seconds:.1f} s[/]")


def _run_on_aws(settings: HealerSettings, batches: Batches) -> None:
    from healer.aws_services import aws_services
    from healer.intake import deliver
    from healer.workflow.runner import run_incident

    services = aws_services(settings, channel=printing_channel())
    for batch in batches:
        for incident_id in deliver(services, batch, on_ingest=_print_ingest):
            incident = run_incident(services, incident_id)
            render.incident_report(console, incident, services.store.events(incident.id))


@contextmanager
def _world(sandbox: str | None, settings: HealerSettings, store: Store) -> Iterator[Services]:
    """Services on the sandbox of a case (while the block runs), or on the AWS account."""
    if not sandbox:
        from healer.aws_services import aws_services

        yield aws_services(settings, channel=printing_channel())
        return
    from healer.cases import find_case, load_case
    from healer.replay import sandbox_for

    path = find_case(sandbox, settings.cases_dir)
    with sandbox_for(load_case(path), path, store, settings, printing_channel()) as (_, services):
        yield services
