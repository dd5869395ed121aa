"""Live intake: `healer run --events FILE|-` and `--sqs QUEUE` heal the demo incidents on a
sandbox account; `healer ingest` says what became of each event; an event is acknowledged only
once it is recorded."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from healer.cli import app
from healer.domain import Outcome
from healer.intake import Delivery, deliver, sqs_batches
from healer.store import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "events"
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "healer.db"
    monkeypatch.setenv("HEALER_STORE_PATH", str(db))
    monkeypatch.setenv("HEALER_APPROVERS", '["U024BE7LH"]')
    monkeypatch.chdir(tmp_path)
    return db


@pytest.fixture(scope="module")
def sqs_endpoint() -> Iterator[str]:
    """A moto server in a process of its own (the sandbox's moto is another)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def sqs_client(endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def outcomes(db: Path) -> list[Outcome | None]:
    return [incident.outcome for incident in SqliteStore(db).list()]


@pytest.mark.parametrize("case", ["dev-disk-full-web", "dev-traffic-surge-api"])
def test_run_with_an_events_file_heals_the_demo_incident(env: Path, case: str) -> None:
    sample = SAMPLES / f"{case}.ndjson"
    result = runner.invoke(app, ["run", "--sandbox", case, "--events", str(sample)])

    assert result.exit_code == 0, result.output
    assert outcomes(env) == [Outcome.RESOLVED]
    kinds = [event.kind for event in SqliteStore(env).events(SqliteStore(env).list()[0].id)]
    assert "action_succeeded" in kinds and "verified" in kinds


def test_run_reads_events_from_stdin(env: Path) -> None:
    sample = (SAMPLES / "dev-disk-full-web.ndjson").read_text()
    result = runner.invoke(app, ["run", "--sandbox", "dev-disk-full-web", "--events", "-"], sample)

    assert result.exit_code == 0, result.output
    assert outcomes(env) == [Outcome.RESOLVED]


def test_the_same_recorded_event_in_two_sandboxes_is_two_incidents_not_a_duplicate(
    env: Path,
) -> None:
    sample = str(SAMPLES / "dev-disk-full-web.ndjson")
    for _ in range(2):
        result = runner.invoke(app, ["run", "--sandbox", "dev-disk-full-web", "--events", sample])
        assert result.exit_code == 0, result.output
    assert outcomes(env) == [Outcome.RESOLVED, Outcome.RESOLVED]


def test_ingest_says_what_became_of_each_event_and_runs_nothing(env: Path, tmp_path: Path) -> None:
    event = (SAMPLES / "dev-disk-full-web.ndjson").read_text()
    path = tmp_path / "twice.ndjson"
    path.write_text(event + event + '{"source": "aws.cloudwatch"}\n')

    result = runner.invoke(app, ["ingest", str(path), "--sandbox", "dev-disk-full-web"])

    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "web-1-disk-used: opened — new incident" in output
    assert "web-1-disk-used: duplicate — already received" in output
    assert "rejected" in output
    (incident,) = SqliteStore(env).list()
    assert incident.step.value == "investigate" and incident.plan is None


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["run", "--events", "x.ndjson"], "choose a world: --sandbox CASE"),
        (["run", "--sandbox", "dev-disk-full-web", "--aws"], "choose one world"),
        (["ingest", "missing.ndjson", "--sandbox", "dev-disk-full-web"], "missing.ndjson: No such"),
        (["run", "--sandbox", "no-such-case"], "no-such-case"),
    ],
)
def test_a_wrong_invocation_is_one_line_naming_what_is_wrong(
    env: Path, args: list[str], said: str
) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and said in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_run_from_sqs_heals_the_surge_and_deletes_each_event_once_recorded(
    env: Path, sqs_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = sqs_client(sqs_endpoint)
    dead = sqs.create_queue(QueueName="healer-events-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"], "maxReceiveCount": "3"}
    queue = sqs.create_queue(
        QueueName="healer-events", Attributes={"RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]
    lines = (SAMPLES / "dev-traffic-surge-api.ndjson").read_text().splitlines()
    for body in [*lines, lines[0], "not json at all"]:  # a redelivery and a bad body
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", sqs_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    result = runner.invoke(
        app,
        ["run", "--sandbox", "dev-traffic-surge-api", "--sqs", queue, "--until-empty"],
    )

    assert result.exit_code == 0, result.output
    assert outcomes(env) == [Outcome.RESOLVED]
    statuses = sorted(record.status for record in SqliteStore(env).list_events(10))
    assert statuses == ["accepted", "accepted", "duplicate", "rejected"]
    left = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert left == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_an_event_that_fails_to_ingest_stays_on_the_queue(sqs_endpoint: str) -> None:
    sqs = sqs_client(sqs_endpoint)
    queue = sqs.create_queue(QueueName="healer-crash")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody='{"source": "aws.cloudwatch"}')

    class StoreDown:
        def __getattr__(self, name: str) -> Any:
            raise ConnectionError("the store is unreachable")

    class Services:
        store = StoreDown()
        aws = SimpleNamespace(cloudwatch=None)

    (batch,) = list(sqs_batches(sqs, queue, wait_seconds=0, visibility_seconds=1, until_empty=True))
    with pytest.raises(ConnectionError):
        deliver(Services(), batch)  # type: ignore[arg-type]
    time.sleep(1.5)
    again = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in again] == ['{"source": "aws.cloudwatch"}']


def test_a_batch_is_acknowledged_after_it_is_committed_never_before() -> None:
    order: list[str] = []

    class Ledger:
        def record(self, *args: Any) -> None:
            order.append("recorded")

        def append(self, *args: Any) -> None:
            order.append("audited")

        @contextmanager
        def batch(self) -> Iterator[None]:
            yield
            order.append("committed")

    class Services:
        store = Ledger()
        aws = SimpleNamespace(cloudwatch=None)

    batch = [Delivery("not json", str(n), lambda: order.append("acked")) for n in range(2)]
    deliver(Services(), batch)  # type: ignore[arg-type]
    assert order == ["recorded", "audited", "recorded", "audited", "committed", "acked", "acked"]
