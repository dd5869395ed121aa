"""Services for a real AWS account: the DynamoDB store, the audit key in Secrets Manager and
digests in S3, Bedrock (model and Knowledge Base), the Pricing API, SSM and Auto Scaling.

Used by the Lambda handlers (built once per container) and by `healer run --aws`. Builds no
client at import time; nothing here imports moto, wordllama or rich.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

from agents.models import build_model
from healer.catalog import load_catalog
from healer.config import HealerSettings
from healer.errors import ConfigError
from healer.slack.channel import SlackApprovalChannel
from healer.slack.threads import IncidentThreads
from healer.store import DynamoStore, S3DigestSink, SecretsManagerAuditKey
from healer.workflow.services import ApprovalChannel, Services, no_announce
from knowledge_base.bedrock import BedrockKnowledgeBaseRetriever
from knowledge_base.runbooks import load_runbooks
from tools.aws import AwsClients
from tools.pricing import PricingApiPriceSource
from tools.remediation import SsmAutomationRunner

log = logging.getLogger(__name__)

REQUIRED = {
    "store_table": "HEALER_STORE_TABLE",
    "audit_key_secret_arn": "HEALER_AUDIT_KEY_SECRET_ARN",
    "audit_digest_bucket": "HEALER_AUDIT_DIGEST_BUCKET",
    "kb_id": "HEALER_KB_ID",
}
"""Settings a deployment cannot run without, and the variables that set them."""


def missing_settings(settings: HealerSettings) -> list[str]:
    """The environment variables of required settings that are not set."""
    return [env for name, env in REQUIRED.items() if not getattr(settings, name)]


def aws_store(settings: HealerSettings, session: Any) -> DynamoStore:
    """The DynamoDB store with its audit key (Secrets Manager) and digest bucket (S3)."""
    if missing := missing_settings(settings):
        raise ConfigError(f"the AWS deployment needs {', '.join(missing)}")
    assert settings.store_table and settings.audit_key_secret_arn and settings.audit_digest_bucket
    return DynamoStore(
        session.resource("dynamodb"),
        settings.store_table,
        audit_key=SecretsManagerAuditKey(
            session.client("secretsmanager"), settings.audit_key_secret_arn
        ),
        digests=S3DigestSink(
            session.client("s3"),
            settings.audit_digest_bucket,
            settings.audit_digest_prefix,
            retain_days=settings.audit_digest_retain_days,
        ),
        digest_every=settings.audit_digest_every,
    )


def aws_services(
    settings: HealerSettings, session: Any = None, channel: ApprovalChannel | None = None
) -> Services:
    """Services on the account of `session` (default: the environment's credentials).

    Raises:
        ConfigError: a required setting is missing (`missing_settings`).
    """
    session = session or boto3.session.Session(region_name=settings.region)
    runbooks = {r.id: r for r in load_runbooks(settings.runbooks_dir)}
    assert settings.kb_id
    slack = _slack_client(settings, session)
    return Services(
        store=aws_store(settings, session),
        aws=AwsClients.from_factory(session, settings.region),
        catalog=load_catalog(settings.runbooks_dir / "catalog.yaml"),
        retriever=BedrockKnowledgeBaseRetriever(
            session.client("bedrock-agent-runtime"), settings.kb_id
        ),
        runbooks=runbooks,
        prices=PricingApiPriceSource(session.client("pricing", region_name="us-east-1")),
        automation=SsmAutomationRunner(session.client("ssm")),
        model_factory=lambda: build_model(
            settings.model, region=settings.region, boto_session=session
        ),
        policy=settings.policy(),
        autonomy=settings.autonomy_rules(),
        cost_miss_factor=settings.cost_miss_factor,
        noise=settings.noise(),
        approvers=list(settings.approvers),
        channel=channel or SlackApprovalChannel(slack, settings.slack_channel),
        announce=IncidentThreads(slack, settings.slack_channel or "") if slack else no_announce,
        correlation_window_seconds=settings.correlation_window_seconds,
        verify_poll_seconds=settings.verify_poll_seconds,
    )


def _slack_client(settings: HealerSettings, session: Any) -> Any:
    """A Web API client with the bot token from Secrets Manager, or None when Slack is not
    configured (nothing is posted then; the approvals still wait)."""
    if not (settings.slack_secret_arn and settings.slack_channel):
        log.warning("no Slack configured (HEALER_SLACK_SECRET_ARN, HEALER_SLACK_CHANNEL)")
        return None
    from slack_sdk import WebClient

    secrets = session.client("secretsmanager")
    value = secrets.get_secret_value(SecretId=settings.slack_secret_arn)["SecretString"]
    token = json.loads(value)["bot_token"]
    return WebClient(token=token, base_url=settings.slack_api_url or WebClient.BASE_URL)
