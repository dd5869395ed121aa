"""Lambda: an EventBridge alarm event in, an incident (new, joined, or the event recorded as
rejected, suppressed or duplicate) out; a new incident starts its workflow.

A redelivery after a crash between recording the event and starting the workflow starts it
then: the execution is named after the event, so it starts once however often it arrives.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from healer.handlers.runtime import execution_name, logger, metrics, runtime, start_workflow, tracer
from healer.workflow.ingest import IngestResult, ingest


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return runtime.once("ingest", receive, key="id", context=context)(event=event)


def receive(event: dict[str, Any]) -> dict[str, Any]:
    """Ingest one delivery and start the workflow of the incident its event opened."""
    services = runtime.services()
    result = ingest(services, event)
    metrics.add_metric(name=f"Events{result.status.title()}", unit=MetricUnit.Count, value=1)
    logger.info("event ingested", extra=result.model_dump())
    return {**result.model_dump(), "execution": _start_if_opened(result)}


def _start_if_opened(result: IngestResult) -> str | None:
    """The workflow execution of the incident this event opened (started if it was not)."""
    if result.status not in ("opened", "duplicate") or result.dedup_key is None:
        return None
    store = runtime.services().store
    first = store.first_delivery(result.dedup_key)
    if first is None or first.reason != "opened" or first.incident_id is None:
        return None  # the event joined an incident whose workflow already runs
    incident = store.get(first.incident_id)
    if incident is None:
        return None
    name = incident.runtime.get("execution") or execution_name(incident.id, result.dedup_key)
    return start_workflow(runtime.services(), incident, name)
