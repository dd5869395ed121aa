"""Settings: environment variables `HEALER_…`, then an optional `healer.toml`, then defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from healer.catalog import RUNBOOKS_DIR
from healer.domain import ActionId
from healer.errors import ConfigError
from healer.policy import PolicySettings
from healer.store.audit_key import AuditKey, FileAuditKey, StaticAuditKey
from healer.trust import Autonomy, Mode, ShadowScope, TrustBar
from healer.workflow.noise import MaintenanceWindow, NoiseRules

PROJECT_DIR = RUNBOOKS_DIR.parent


class HealerSettings(BaseSettings):
    """Every setting of the healer; see the README's Configuration table."""

    model_config = SettingsConfigDict(env_prefix="HEALER_", toml_file="healer.toml", extra="ignore")

    model: str = Field(
        "offline",
        description="offline | bedrock[:MODEL_ID] | anthropic[:MODEL_ID] | openai:MODEL",
    )
    anthropic_base_url: str | None = Field(
        None, description="Anthropic Messages API endpoint (unset: the SDK's default)"
    )
    openai_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (Ollama)"
    )
    region: str = Field("us-east-1", description="AWS region of the resources")
    store_path: Path = Field(Path(".healer/healer.db"), description="SQLite store (WAL)")
    runbooks_dir: Path = Field(RUNBOOKS_DIR, description="runbooks and catalog.yaml")
    runbook_drafts_dir: Path = Field(
        RUNBOOKS_DIR / "drafts",
        description="runbook drafts from human fixes (never retrieved; `healer runbooks drafts`)",
    )
    cases_dir: Path = Field(PROJECT_DIR / "evals" / "cases", description="replay cases")
    approvers: list[str] = Field(
        default_factory=list, description="Slack user ids allowed to approve"
    )
    approval_threshold_usd: float = Field(20.0, ge=0, allow_inf_nan=False)
    cooldown_minutes: int = Field(30, ge=0)
    max_actions_per_hour: int = Field(3, ge=0)
    min_confidence: float = Field(0.6, ge=0, le=1)
    approval_ttl_minutes: int = Field(30, ge=1)
    correlation_window_seconds: int = Field(300, ge=0)
    suppress_alarms: list[str] = Field(
        default_factory=list,
        description="glob patterns of alarm names or resources whose alarms open nothing",
    )
    maintenance_windows: list[MaintenanceWindow] = Field(
        default_factory=list,
        description="[{name, start, end, match: [globs]}]: alarms on matches open nothing",
    )
    flap_transitions: int = Field(
        6, ge=2, description="state changes of one alarm within flap_window_minutes = flapping"
    )
    flap_window_minutes: int = Field(60, ge=1)
    autonomy_default: Mode = Field(
        Mode.AUTOPILOT,
        description="shadow | approval | earned | autopilot: how an action type may act "
        "unless `autonomy` names it",
    )
    autonomy: dict[str, Mode] = Field(
        default_factory=dict, description='per action type, e.g. {scale_out = "earned"}'
    )
    shadow_scopes: list[ShadowScope] = Field(
        default_factory=list,
        description='[{account = "…"}, {tag = "Environment=staging*"}]: shadow mode there',
    )
    trust_min_outcomes: int = Field(5, ge=1, description="outcomes an `earned` action needs")
    trust_min_success: float = Field(
        0.6, ge=0, le=1, description="bar on the Wilson lower bound (95 %) of its success rate"
    )
    trust_rebuild: int = Field(3, ge=1, description="successes in a row needed after a failure")
    cost_miss_factor: float = Field(
        2.0,
        gt=1,
        allow_inf_nan=False,
        description="an actual cost this many times over or under its estimate is a miss",
    )
    verify_poll_seconds: float = Field(15.0, gt=0, allow_inf_nan=False)
    kb_id: str | None = Field(None, description="Bedrock Knowledge Base id (kb --backend bedrock)")
    opensearch_url: str | None = Field(
        None, description="OpenSearch endpoint (an .aoss.amazonaws.com host is signed with SigV4)"
    )
    opensearch_index: str = "healer-runbooks"
    audit_key: SecretStr | None = Field(
        None, description="audit HMAC key (≥ 32 characters); unset: read `audit_key_file`"
    )
    audit_key_file: Path = Field(
        Path(".healer/audit.key"), description="audit HMAC key file, created (0600) when absent"
    )
    audit_digest_dir: Path = Field(
        Path(".healer/audit-digests"), description="signed audit digests, outside the store"
    )
    audit_digest_every: int = Field(100, ge=1, description="a digest every N audit events")
    store_backend: Literal["sqlite", "dynamodb"] = Field(
        "sqlite", description="sqlite (embedded) | dynamodb (`store_table`; the AWS deployment)"
    )
    store_table: str | None = Field(None, description="the DynamoDB store table (AWS)")
    idempotency_table: str | None = Field(
        None, description="the DynamoDB table of the Lambda handlers' idempotency records (AWS)"
    )
    state_machine_arn: str | None = Field(None, description="the healer's Step Functions workflow")
    audit_key_secret_arn: str | None = Field(
        None, description="Secrets Manager secret holding the audit HMAC key (AWS)"
    )
    audit_digest_bucket: str | None = Field(
        None, description="S3 bucket (Object Lock) of the signed audit digests (AWS)"
    )
    audit_digest_prefix: str = "audit-digests/"
    audit_digest_retain_days: int | None = Field(
        None, ge=1, description="Object Lock retention of each digest, in days (AWS)"
    )
    slack_secret_arn: str | None = Field(
        None, description="Secrets Manager secret: {signing_secret, bot_token, app_token}"
    )
    slack_channel: str | None = Field(None, description="Slack channel of incident messages")
    slack_approver_group: str | None = Field(
        None, description="Slack user group (S…) whose members may approve, besides approvers"
    )
    slack_requester_group: str | None = Field(
        None, description="Slack user group whose members may ask for actions in chat"
    )
    slack_bot_token: SecretStr | None = Field(
        None, description="Slack bot token (xoxb-…) for `healer slack serve` and `demo --slack`"
    )
    slack_signing_secret: SecretStr | None = Field(
        None, description="Slack signing secret, to verify requests to `healer slack serve`"
    )
    slack_app_token: SecretStr | None = Field(
        None, description="Slack app-level token (xapp-…): `healer slack serve` uses Socket Mode"
    )
    slack_api_url: str | None = Field(
        None, description="Slack Web API base URL (default https://slack.com/api/)"
    )

    @field_validator("autonomy")
    @classmethod
    def _catalog_actions(cls, modes: dict[str, Mode]) -> dict[str, Mode]:
        unknown = sorted(set(modes) - {a.value for a in ActionId})
        if unknown:
            raise ValueError(f"not catalog actions: {', '.join(unknown)}")
        return modes

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, CheckedTomlSource(settings_cls))

    def audit_key_source(self) -> AuditKey:
        """The audit key: `HEALER_AUDIT_KEY` (or `audit_key` in healer.toml), else the key file."""
        if self.audit_key is not None:
            return StaticAuditKey(self.audit_key.get_secret_value().encode(), "HEALER_AUDIT_KEY")
        return FileAuditKey(self.audit_key_file)

    def model_base_url(self, model: str | None = None) -> str | None:
        """The endpoint configured for the provider of `model` (default: the configured one)."""
        provider = (model or self.model).partition(":")[0]
        return {"anthropic": self.anthropic_base_url, "openai": self.openai_base_url}.get(provider)

    def noise(self) -> NoiseRules:
        return NoiseRules(
            suppress=tuple(self.suppress_alarms),
            maintenance=tuple(self.maintenance_windows),
            flap_transitions=self.flap_transitions,
            flap_window=timedelta(minutes=self.flap_window_minutes),
        )

    def autonomy_rules(self) -> Autonomy:
        return Autonomy(
            default=self.autonomy_default,
            actions=self.autonomy,
            shadow=tuple(self.shadow_scopes),
            bar=TrustBar(
                min_outcomes=self.trust_min_outcomes,
                min_success=self.trust_min_success,
                rebuild=self.trust_rebuild,
            ),
        )

    def policy(self) -> PolicySettings:
        return PolicySettings(
            approval_threshold_usd=self.approval_threshold_usd,
            cooldown=timedelta(minutes=self.cooldown_minutes),
            max_actions_per_hour=self.max_actions_per_hour,
            min_confidence=self.min_confidence,
            approval_ttl=timedelta(minutes=self.approval_ttl_minutes),
        )


class CheckedTomlSource(TomlConfigSettingsSource):
    """healer.toml, refused with its file and line when it is not TOML, and with the key when
    a key is not a setting (a typo would otherwise be ignored)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        import tomllib

        try:
            with file_path.open(mode="rb") as toml_file:
                values: dict[str, Any] = tomllib.load(toml_file)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file_path}: not TOML: {exc}") from exc
        unknown = sorted(set(values) - set(HealerSettings.model_fields))
        if unknown:
            raise ConfigError(f"{file_path}: unknown setting {', '.join(map(repr, unknown))}")
        return values


def load_settings(**overrides: Any) -> HealerSettings:
    return HealerSettings(**overrides)
