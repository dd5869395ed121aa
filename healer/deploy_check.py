"""`healer deploy check`: what an AWS deployment needs, and what of it is missing.

Each check reads the real account through the configured settings (the outputs of
`terraform apply`) and says, when something is missing, what to do about it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.aws_services import missing_settings
from healer.config import HealerSettings

INFERENCE_PROFILE_REGIONS = ("us", "eu", "apac", "us-gov", "global")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def deployment_checks(settings: HealerSettings, session: Any) -> list[Check]:
    """Every check, in the order a platform engineer would fix them."""
    checks = [
        Check(f"setting {env}", False, "not set: take it from `terraform output`")
        for env in missing_settings(settings)
    ]
    provider, _, model_id = settings.model.partition(":")
    if provider != "bedrock":
        checks.append(Check("model", False, f"HEALER_MODEL is {settings.model!r}, not bedrock:ID"))
    probes: list[tuple[str, str | None, Callable[[str], tuple[bool, str]]]] = [
        ("store table", settings.store_table, lambda name: _table(session, name)),
        ("audit key", settings.audit_key_secret_arn, lambda arn: _audit_key(session, arn)),
        ("audit digests", settings.audit_digest_bucket, lambda name: _digests(session, name)),
        ("state machine", settings.state_machine_arn, lambda arn: _state_machine(session, arn)),
        ("knowledge base", settings.kb_id, lambda kb: _knowledge_base(session, kb)),
        ("model access", model_id or None, lambda model: _model_access(session, model)),
        ("slack secrets", settings.slack_secret_arn, lambda arn: _slack(session, arn, settings)),
    ]
    for name, value, probe in probes:
        if value is None:
            if name in ("state machine", "slack secrets"):
                checks.append(Check(name, False, "not configured"))
            continue
        try:
            ok, detail = probe(value)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            ok, detail = False, f"{error.get('Code')}: {error.get('Message')}"
        except BotoCoreError as exc:
            ok, detail = False, str(exc)
        checks.append(Check(name, ok, detail))
    return checks


def _table(session: Any, name: str) -> tuple[bool, str]:
    dynamodb = session.client("dynamodb")
    table = dynamodb.describe_table(TableName=name)["Table"]
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    ok = table["TableStatus"] == "ACTIVE" and pitr
    return ok, f"{name}: {table['TableStatus']}, point-in-time recovery {'on' if pitr else 'OFF'}"


def _audit_key(session: Any, arn: str) -> tuple[bool, str]:
    value = _secret(session, arn)
    if value is None:
        return False, "no value yet: aws secretsmanager put-secret-value (≥ 32 random characters)"
    if len(value) < 32:
        return False, f"too short ({len(value)} characters; at least 32)"
    return True, "set (its value is never shown)"


def _digests(session: Any, bucket: str) -> tuple[bool, str]:
    lock = session.client("s3").get_object_lock_configuration(Bucket=bucket)
    enabled = lock["ObjectLockConfiguration"].get("ObjectLockEnabled") == "Enabled"
    return enabled, f"s3://{bucket}: Object Lock {'enabled' if enabled else 'NOT enabled'}"


def _state_machine(session: Any, arn: str) -> tuple[bool, str]:
    machine = session.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    return machine["status"] == "ACTIVE", f"{machine['name']}: {machine['status']}"


def _knowledge_base(session: Any, kb_id: str) -> tuple[bool, str]:
    found = session.client("bedrock-agent").get_knowledge_base(knowledgeBaseId=kb_id)
    status = found["knowledgeBase"]["status"]
    hint = "" if status == "ACTIVE" else " (run its data source's ingestion job)"
    return status == "ACTIVE", f"{kb_id}: {status}{hint}"


def _model_access(session: Any, model_id: str) -> tuple[bool, str]:
    base = (
        model_id.split(".", 1)[1] if model_id.split(".", 1)[0] in ("us", "eu", "apac") else model_id
    )
    found = session.client("bedrock").get_foundation_model_availability(modelId=base)
    authorized = found.get("authorizationStatus") == "AUTHORIZED"
    available = found.get("entitlementAvailability") == "AVAILABLE"
    if authorized and available:
        return True, f"{model_id}: access granted"
    return False, f"{model_id}: request access in the Bedrock console (Model access)"


def _slack(session: Any, arn: str, settings: HealerSettings) -> tuple[bool, str]:
    value = _secret(session, arn)
    try:
        secrets = json.loads(value) if value else {}
    except ValueError:
        return False, 'not JSON: {"signing_secret": ..., "bot_token": ...}'
    missing = [key for key in ("signing_secret", "bot_token") if not secrets.get(key)]
    if missing:
        return False, f"missing {', '.join(missing)}: put them in the secret as JSON"
    if not settings.slack_channel:
        return False, "HEALER_SLACK_CHANNEL is not set"
    return True, f"set; approvals go to {settings.slack_channel}"


def _secret(session: Any, arn: str) -> str | None:
    try:
        value = session.client("secretsmanager").get_secret_value(SecretId=arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None  # created by Terraform without a value
        raise
    secret: str | None = value.get("SecretString")
    return secret
