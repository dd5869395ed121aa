"""`healer deploy check` and `healer run --aws` on a moto account on loopback: the real boto3
clients, the DynamoDB store, Secrets Manager and S3, reached through `AWS_ENDPOINT_URL`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from typer.testing import CliRunner

from healer.cli import app
from healer.sandbox.server import LoopbackMotoServer
from healer.store.dynamodb import table_definition

runner = CliRunner()
EVENTS = Path(__file__).parent / "fixtures" / "alarm_events"


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A moto account with what `terraform apply` creates, its names in the environment."""
    server = LoopbackMotoServer()
    server.start()
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=5)  # one state per process
    for name, value in {
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    dynamodb, secrets, s3 = (boto3.client(s) for s in ("dynamodb", "secretsmanager", "s3"))
    dynamodb.create_table(**table_definition("healer"))
    dynamodb.update_continuous_backups(
        TableName="healer", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    key = secrets.create_secret(Name="healer/audit-key", SecretString="k" * 40)["ARN"]
    slack = secrets.create_secret(Name="healer/slack", SecretString="{}")["ARN"]
    s3.create_bucket(Bucket="healer-digests", ObjectLockEnabledForBucket=True)
    names = {
        "HEALER_STORE_TABLE": "healer",
        "HEALER_AUDIT_KEY_SECRET_ARN": key,
        "HEALER_AUDIT_DIGEST_BUCKET": "healer-digests",
        "HEALER_KB_ID": "KB12345678",
        "HEALER_SLACK_SECRET_ARN": slack,
    }
    for name, value in names.items():
        monkeypatch.setenv(name, value)
    try:
        yield names
    finally:
        server.stop()


def lines(output: str) -> dict[str, str]:
    """`name: detail` of each check line, by name, with its mark."""
    found = {}
    for line in output.replace("\n ", " ").splitlines():
        mark, _, rest = line.partition(" ")
        name, _, detail = rest.strip().partition(": ")
        found[name] = f"{mark}: {detail}"
    return found


def test_deploy_check_names_what_is_there_and_what_is_missing(account: dict[str, Any]) -> None:
    result = runner.invoke(app, ["deploy", "check"], env={"COLUMNS": "200"})

    assert result.exit_code == 1, result.output
    checks = lines(result.output)
    assert checks["store table"].startswith("ok: healer: ACTIVE, point-in-time recovery on")
    assert checks["audit key"] == "ok: set (its value is never shown)"
    assert checks["audit digests"] == "ok: s3://healer-digests: Object Lock enabled"
    assert checks["model"].startswith("missing: HEALER_MODEL is 'offline'")
    assert checks["knowledge base"].startswith("missing:")
    assert checks["slack secrets"].startswith("missing: missing signing_secret, bot_token")
    assert checks["state machine"] == "missing: not configured"
    assert "k" * 40 not in result.output


def test_deploy_check_without_settings_lists_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HEALER_STORE_TABLE", "HEALER_KB_ID"):
        monkeypatch.delenv(name, raising=False)

    result = runner.invoke(app, ["deploy", "check"], env={"COLUMNS": "200"})

    assert result.exit_code == 1
    assert "missing setting HEALER_STORE_TABLE: not set" in result.output
    assert "missing setting HEALER_KB_ID: not set" in result.output


def test_run_on_aws_records_an_event_for_an_unknown_alarm_in_dynamodb(
    account: dict[str, Any], tmp_path: Path
) -> None:
    event = json.loads((EVENTS / "metric.json").read_text())
    path = tmp_path / "events.ndjson"
    path.write_text(json.dumps(event) + "\n" + json.dumps(event) + "\n")

    result = runner.invoke(app, ["run", "--aws", "--events", str(path)], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "does not exist in this account" in result.output
    listed = runner.invoke(app, ["events"], env={"HEALER_STORE_BACKEND": "dynamodb"})
    assert listed.exit_code == 0, listed.output
    assert (listed.output.count("suppressed"), listed.output.count("duplicate")) == (1, 1)
    assert (
        runner.invoke(app, ["audit", "verify"], env={"HEALER_STORE_BACKEND": "dynamodb"}).exit_code
        == 0
    )


def test_run_refuses_a_file_that_is_not_json(account: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text('{"source": "aws.cloudwatch"}\nnot json\n')

    result = runner.invoke(app, ["run", "--aws", "--events", str(path)])

    assert result.exit_code == 2
    assert f"error: {path}:2: not JSON" in result.stderr.replace("\n", "")
