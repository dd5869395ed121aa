"""Where alarm events come from: a file or stdin, an SQS queue; all end in `deliver`.

A source yields batches of deliveries. Each delivery is ingested (recorded, whatever becomes of
it) before it is acknowledged, so a crash between the two only redelivers it, and the event
ledger makes the redelivery a duplicate. The incidents a batch opened run after the batch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healer.errors import UserError

if TYPE_CHECKING:
    from healer.workflow.ingest import IngestResult
    from healer.workflow.services import Services

MAX_EVENTS_FILE_BYTES = 256 * 1024 * 1024
SQS_BATCH = 10  # the most ReceiveMessage returns


def _no_ack() -> None:
    return None


@dataclass
class Delivery:
    """One delivered event: the raw payload, where it came from, and how to acknowledge it."""

    raw: Any
    where: str
    ack: Callable[[], None] = field(default=_no_ack)


Batches = Iterable[list[Delivery]]


def deliver(
    services: Services,
    batch: list[Delivery],
    *,
    before: Callable[[Any], None] | None = None,
    on_ingest: Callable[[IngestResult], None] | None = None,
) -> list[str]:
    """Ingest a batch, then acknowledge each delivery; the ids of the incidents it opened.

    On SQLite the batch is one transaction, acknowledged only once it committed; alarm states
    are asked of CloudWatch once per batch. `before` runs before each event is ingested (a
    replay changes its sandbox's alarms there, so states are then asked for each event).
    """
    from healer.workflow.ingest import AlarmStates, ingest

    states = None if before is not None else AlarmStates(services.aws.cloudwatch)
    if states is not None:
        states.prefetch([name for d in batch if (name := _alarm_name(d.raw))])
    outcomes = []
    with services.store.batch():
        for delivery in batch:
            if before is not None:
                before(delivery.raw)
            outcomes.append(ingest(services, delivery.raw, states))
    for delivery, outcome in zip(batch, outcomes, strict=True):
        delivery.ack()
        if on_ingest is not None:
            on_ingest(outcome)
    return [o.incident_id for o in outcomes if o.status == "opened" and o.incident_id]


def _alarm_name(raw: Any) -> str | None:
    """The alarm an event names, read without validating it (ingest validates)."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return None
    detail = raw.get("detail") if isinstance(raw, dict) else None
    name = detail.get("alarmName") if isinstance(detail, dict) else None
    return name if isinstance(name, str) and name else None


def file_batches(path: str) -> list[list[Delivery]]:
    """The events of a file (`-`: stdin) as one batch: one EventBridge event (a JSON object),
    a JSON list of them, or one per line (NDJSON). Checked whole before anything is delivered.

    Raises:
        UserError: the file cannot be read, is not UTF-8, too large, or a line is not JSON.
    """
    name = "stdin" if path == "-" else path
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UserError(exc.strerror or str(exc), name) from exc
    if len(data) > MAX_EVENTS_FILE_BYTES:
        raise UserError(f"larger than {MAX_EVENTS_FILE_BYTES // 2**20} MiB; split it", name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})", name
        ) from exc
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return [_lines(text, name)]
    events = parsed if isinstance(parsed, list) else [parsed]
    return [[Delivery(raw, f"{name}#{index}") for index, raw in enumerate(events, 1)]]


def _lines(text: str, name: str) -> list[Delivery]:
    deliveries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            deliveries.append(Delivery(json.loads(line), f"{name}:{number}"))
        except (ValueError, RecursionError) as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise UserError(f"not JSON ({why})", f"{name}:{number}") from exc
    return deliveries


def sqs_batches(
    client: Any,
    queue_url: str,
    *,
    wait_seconds: int = 20,
    visibility_seconds: int = 300,
    until_empty: bool = False,
) -> Iterator[list[Delivery]]:
    """Long-poll an SQS queue fed by an EventBridge rule, one received batch at a time.

    A message is deleted only after its event is recorded; one that fails to ingest stays and
    comes back after `visibility_seconds`, and after the queue's maxReceiveCount its redrive
    policy moves it to the dead-letter queue. `until_empty` stops at the first empty receive.
    """
    while True:
        reply = client.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=SQS_BATCH,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_seconds,
        )
        messages = reply.get("Messages", [])
        if not messages and until_empty:
            return
        yield [_sqs_delivery(client, queue_url, message) for message in messages]


def _sqs_delivery(client: Any, queue_url: str, message: dict[str, Any]) -> Delivery:
    def delete() -> None:
        client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    return Delivery(message.get("Body", ""), f"sqs:{message.get('MessageId', '?')}", delete)
