"""Audit key sources: a value, a key file created on first use, AWS Secrets Manager."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from healer.config import HealerSettings
from healer.errors import ConfigError
from healer.store import FileAuditKey, SecretsManagerAuditKey, StaticAuditKey


def test_a_missing_key_file_is_created_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / ".healer" / "audit.key"

    first = FileAuditKey(path).secret()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 64 and bytes.fromhex(first.decode())  # 32 random bytes, hex
    assert FileAuditKey(path).secret() == first
    assert [p.name for p in path.parent.iterdir()] == ["audit.key"]  # no temporary left


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_text("k" * 40)
    os.chmod(path, 0o644)

    with pytest.raises(ConfigError, match=r"readable by others.*chmod 600"):
        FileAuditKey(path).secret()


def test_a_short_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 32") as raised:
        StaticAuditKey(b"short-secret", "HEALER_AUDIT_KEY")
    assert "short-secret" not in str(raised.value)


def test_no_key_source_shows_its_key(tmp_path: Path) -> None:
    key = StaticAuditKey(b"s" * 32)
    file_key = FileAuditKey(tmp_path / "audit.key")
    file_key.secret()

    assert "sss" not in repr(key)
    assert file_key.secret().decode() not in repr(file_key)


def test_the_setting_wins_over_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALER_AUDIT_KEY", "e" * 32)
    settings = HealerSettings(audit_key_file=tmp_path / "audit.key")

    assert settings.audit_key_source().secret() == b"e" * 32
    assert not (tmp_path / "audit.key").exists()
    assert "eeee" not in repr(settings)


def test_without_the_setting_the_key_file_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEALER_AUDIT_KEY", raising=False)
    settings = HealerSettings(audit_key_file=tmp_path / "audit.key")

    assert settings.audit_key_source().secret() == FileAuditKey(tmp_path / "audit.key").secret()


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_the_key_is_read_once_from_secrets_manager(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="healer/audit-key", SecretString="m" * 48)
    key = SecretsManagerAuditKey(secretsmanager, "healer/audit-key")

    assert key.secret() == b"m" * 48
    secretsmanager.delete_secret(SecretId="healer/audit-key", ForceDeleteWithoutRecovery=True)
    assert key.secret() == b"m" * 48
    assert "mmm" not in repr(key)


def test_a_binary_secret_is_read_as_bytes(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="healer/audit-key", SecretBinary=b"\x01" * 32)

    assert SecretsManagerAuditKey(secretsmanager, "healer/audit-key").secret() == b"\x01" * 32


def test_a_missing_secret_is_a_configuration_error(secretsmanager: Any) -> None:
    with pytest.raises(ConfigError, match=r"secret healer/nope.*ResourceNotFoundException"):
        SecretsManagerAuditKey(secretsmanager, "healer/nope").secret()
