"""infra/terraform, offline: fmt, validate, the mocked `terraform test` suites, and a real plan,
apply and destroy against a moto server on loopback.

Terraform runs on a copy of the configuration (with the files it reads beside it), so the
repository gets no `.terraform/`, lock file or state. Skips, with the reason, where Terraform or
the local mirror of the AWS provider is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from healer.sandbox.server import LoopbackMotoServer
from knowledge_base.bedrock import runbook_metadata_files
from knowledge_base.runbooks import load_runbooks

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "infra" / "terraform"
REGION = "us-east-1"

# Services the configuration calls, each pointed at moto (anything left out would go to AWS).
MOTO_SERVICES = (
    "cloudwatch",
    "cloudwatchlogs",
    "dynamodb",
    "eventbridge",
    "iam",
    "kms",
    "lambda",
    "s3",
    "secretsmanager",
    "sfn",
    "sns",
    "sqs",
    "ssm",
    "sts",
)

# moto has no Bedrock Knowledge Base data sources and OpenSearch Serverless has no data plane
# there (the vector index cannot be created), so the knowledge base is off on moto.
MOTO_VARIABLES = {
    "enable_knowledge_base": False,
    # So that destroy can delete the tables.
    "deletion_protection": False,
    "approvers": ["U012AB3CD"],
}


def _plugin_dir() -> Path | None:
    """The filesystem mirror holding hashicorp/aws: $TF_PLUGIN_DIR, or a known location."""
    candidates = [os.environ.get("TF_PLUGIN_DIR"), "/opt/tf-plugins", "~/.terraform.d/plugins"]
    for candidate in filter(None, candidates):
        root = Path(candidate).expanduser()
        if any(root.glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_*")):
            return root
    return None


TERRAFORM = shutil.which("terraform")
PLUGIN_DIR = _plugin_dir()
pytestmark = [
    pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed (Terraform 1.11)"),
    pytest.mark.skipif(
        PLUGIN_DIR is None,
        reason="no local mirror of hashicorp/aws (set TF_PLUGIN_DIR to the mirror's root)",
    ),
]


@dataclass
class Workspace:
    """A copy of infra/terraform, laid out as in the repository, initialised offline."""

    root: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 180, **env: str) -> str:
        result = subprocess.run(
            [str(TERRAFORM), *args, "-no-color"],
            cwd=self.root,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"terraform {' '.join(args)} failed:\n{result.stderr}\n…{result.stdout[-3000:]}"
            )
        return result.stdout


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    base = tmp_path_factory.mktemp("tf")
    root = base / "infra" / "terraform"
    shutil.copytree(
        CONFIG,
        root,
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"),
    )
    # What the configuration reads outside its folder (path.module/../..).
    (base / "infra" / "statemachine").symlink_to(REPO / "infra" / "statemachine")
    (base / "runbooks").symlink_to(REPO / "runbooks")
    cli_config = base / "terraformrc"
    cli_config.write_text("")
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    }
    workspace = Workspace(root, env)
    workspace.run("init", "-backend=false", f"-plugin-dir={PLUGIN_DIR}")
    return workspace


def test_formatted() -> None:
    result = subprocess.run(
        [str(TERRAFORM), "fmt", "-check", "-recursive", "-diff", str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}"


def test_valid(workspace: Workspace) -> None:
    assert "The configuration is valid" in workspace.run("validate")


def test_mocked_suites_pass(workspace: Workspace) -> None:
    """tests/*.tftest.hcl: the security-relevant attributes against a mocked provider. The
    files run at once, one `terraform test` each (it runs files one after another)."""
    suites = sorted(p.name for p in (workspace.root / "tests").glob("*.tftest.hcl"))
    assert suites, "no .tftest.hcl files"
    runs = {
        suite: subprocess.Popen(
            [str(TERRAFORM), "test", f"-filter=tests/{suite}", "-no-color"],
            cwd=workspace.root,
            env=workspace.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for suite in suites
    }
    failed = {}
    for suite, run in runs.items():
        out, _ = run.communicate(timeout=180)
        if run.returncode != 0 or " 0 failed" not in out:
            failed[suite] = out
    assert not failed, "\n".join(f"--- {suite}\n{out}" for suite, out in failed.items())


# --- plan, apply and destroy against moto -------------------------------------------------


# Calls the AWS provider makes that moto does not implement, and the answers AWS gives when
# there is nothing to report: the provider validates a state machine definition during plan
# (the ASL itself is executed by the workflow tests) and lists its published versions.
MOTO_GAPS = {
    "AWSStepFunctions.ValidateStateMachineDefinition": {"result": "OK", "diagnostics": []},
    "AWSStepFunctions.ListStateMachineVersions": {"stateMachineVersions": []},
}


def _answer_moto_gaps(app: Any) -> Any:
    """WSGI middleware answering MOTO_GAPS before moto sees them, and correcting one moto
    answer: moto reports SqsManagedSseEnabled=true on a KMS-encrypted queue, which AWS never
    does, and the provider then waits in vain for the queue's attributes to settle. Requests
    are served one at a time: moto's S3 lists object versions while another thread deletes
    them (a 500 when Terraform destroys objects in parallel)."""
    one_at_a_time = threading.Lock()

    def respond(start_response: Any, answer: dict[str, Any]) -> list[bytes]:
        body = json.dumps(answer).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        with one_at_a_time:
            return answer(environ, start_response)

    def answer(environ: dict[str, Any], start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target in MOTO_GAPS:
            return respond(start_response, MOTO_GAPS[target])
        if target != "AmazonSQS.GetQueueAttributes":
            return app(environ, start_response)
        captured: list[Any] = []
        body = b"".join(app(environ, lambda *args: captured.append(args)))
        reply = json.loads(body)
        attributes = reply.get("Attributes", {})
        if captured[0][0].startswith("200") and "KmsMasterKeyId" in attributes:
            attributes["SqsManagedSseEnabled"] = "false"
            return respond(start_response, reply)
        start_response(*captured[0])
        return [body]

    return middleware


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    server = LoopbackMotoServer(middleware=_answer_moto_gaps)
    server.start()
    try:
        yield server.endpoint_url
    finally:
        server.stop()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


# On moto, modules/bucket gets an override: moto evaluates a bucket policy's Deny without its
# condition, so the TLS-only policy would refuse every request (replaced by one that denies
# nothing), and the provider waits ~55 s for lifecycle rules to settle (left out). The mocked
# suites and checkov check both.
MOTO_BUCKET_OVERRIDE = """resource "aws_s3_bucket_policy" "this" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "MotoCannotEvaluateSecureTransport"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::123456789012:root" }
      Action    = "s3:GetBucketLocation"
      Resource  = aws_s3_bucket.this.arn
    }]
  })
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = 0
}
"""


def _moto_override(endpoint: str) -> str:
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in MOTO_SERVICES)
    return f"""provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  # moto answers an unimplemented call with a 500; fail at once instead of retrying for minutes.
  max_retries = 1

  endpoints {{
{endpoints}
  }}
}}
"""


def _lambda_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("healer/handlers/__init__.py", "")
    return path


@pytest.mark.terraform_apply
@pytest.mark.timeout(300)
def test_apply_and_destroy_on_moto(workspace: Workspace, moto: str, tmp_path: Path) -> None:
    (workspace.root / "moto_override.tf").write_text(_moto_override(moto))
    (workspace.root / "modules" / "bucket" / "moto_override.tf").write_text(MOTO_BUCKET_OVERRIDE)
    # A key brought in kms_key_arn: the key the configuration would create waits on KMS policy
    # propagation for ~12 s; the mocked suites check that key.
    key = _client("kms", moto).create_key(Description="healer on moto")["KeyMetadata"]["Arn"]
    variables = {
        **MOTO_VARIABLES,
        "kms_key_arn": key,
        "lambda_package": str(_lambda_zip(tmp_path / "healer-lambda.zip")),
        "python_executable": sys.executable,
    }
    var_file = tmp_path / "moto.tfvars.json"
    var_file.write_text(json.dumps(variables))
    # The local-exec steps (audit key, function URL permission) use boto3: on moto too.
    aws_env = {
        "AWS_ENDPOINT_URL": moto,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    try:
        workspace.run("plan", f"-var-file={var_file}", "-out", str(tmp_path / "plan"), **aws_env)
        workspace.run("apply", "-parallelism=30", str(tmp_path / "plan"), **aws_env)
        outputs = json.loads(workspace.run("output", "-json", **aws_env))
        _check_deployment(moto, {name: o["value"] for name, o in outputs.items()})
    finally:
        _empty_buckets(moto)
        workspace.run(
            "destroy", f"-var-file={var_file}", "-auto-approve", "-parallelism=30", **aws_env
        )
        (workspace.root / "moto_override.tf").unlink()
        (workspace.root / "modules" / "bucket" / "moto_override.tf").unlink()
    tables = _client("dynamodb", moto).list_tables()["TableNames"]
    assert outputs["store_table_name"]["value"] not in tables


def _empty_buckets(moto: str) -> None:
    """Delete every object version first: moto now and then keeps a version of an object that
    Terraform deleted (and the bucket then refuses to go)."""
    s3 = _client("s3", moto)
    for bucket in s3.list_buckets()["Buckets"]:
        listing = s3.list_object_versions(Bucket=bucket["Name"])
        for version in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
            s3.delete_object(
                Bucket=bucket["Name"], Key=version["Key"], VersionId=version["VersionId"]
            )


def _check_deployment(moto: str, outputs: dict[str, Any]) -> None:
    dynamodb = _client("dynamodb", moto)
    table = outputs["store_table_name"]
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    described = dynamodb.describe_table(TableName=table)["Table"]
    assert [k["AttributeName"] for k in described["KeySchema"]] == ["pk", "sk"]
    assert described["SSEDescription"]["SSEType"] == "KMS"

    machine = _client("stepfunctions", moto).describe_state_machine(
        stateMachineArn=outputs["state_machine_arn"]
    )
    assert machine["type"] == "STANDARD"
    assert outputs["function_names"]["analyse"] in machine["definition"]

    events = _client("events", moto)
    rule = events.describe_rule(Name="incident-healer-alarm-to-incident")
    assert json.loads(rule["EventPattern"])["detail"]["state"]["value"] == ["ALARM"]
    [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"].endswith(f":function:{outputs['function_names']['ingest']}")
    assert target["DeadLetterConfig"]["Arn"].endswith(":incident-healer-alarm-events-dlq")

    s3 = _client("s3", moto)
    lock = s3.get_object_lock_configuration(Bucket=outputs["digest_bucket"])
    assert lock["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    # The sidecars Terraform derives from the front matter are the ones the Python side makes.
    expected = runbook_metadata_files(load_runbooks(REPO / "runbooks"))
    for name, document in expected.items():
        body = s3.get_object(Bucket=outputs["runbooks_bucket"], Key=f"runbooks/{name}")["Body"]
        assert json.loads(body.read()) == document, name

    # The audit key was generated into its secret during apply, never into the state.
    key = _client("secretsmanager", moto).get_secret_value(SecretId=outputs["audit_key_secret_arn"])
    assert len(key["SecretString"]) >= 32

    ssm = _client("ssm", moto)
    for name, digest in outputs["ssm_documents"].items():
        assert ssm.describe_document(Name=name)["Document"]["Hash"] == digest

    fn = _client("lambda", moto).get_function(FunctionName=outputs["function_names"]["remediate"])
    assert fn["Configuration"]["TracingConfig"]["Mode"] == "Active"
    assert "HEALER_STATE_MACHINE_ARN" not in fn["Configuration"]["Environment"]["Variables"]
