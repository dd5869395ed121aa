"""Where the audit log's HMAC key comes from: a value, a key file or AWS Secrets Manager.

The key is kept outside the store, so that write access to the database is not enough to
forge events. No class here prints, logs or puts the key into an error message.
"""

from __future__ import annotations

import functools
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from healer.errors import ConfigError, ToolUnavailable

MIN_KEY_BYTES = 32
_CONFIG_CODES = frozenset({"ResourceNotFoundException", "AccessDeniedException"})


@runtime_checkable
class AuditKey(Protocol):
    """A source of the audit key."""

    def secret(self) -> bytes:
        """The key material; ConfigError if it is missing or too short."""
        ...


def _checked(secret: bytes, source: str) -> bytes:
    if len(secret) < MIN_KEY_BYTES:
        raise ConfigError(
            f"audit key from {source}: {len(secret)} bytes; it needs at least {MIN_KEY_BYTES}"
        )
    return secret


class StaticAuditKey:
    """A key held in memory: the `HEALER_AUDIT_KEY` setting, or a test's key."""

    def __init__(self, secret: bytes, source: str = "a value") -> None:
        self._source = source
        self._secret = _checked(secret, source)

    def secret(self) -> bytes:
        return self._secret

    def __repr__(self) -> str:
        return f"StaticAuditKey(source={self._source!r})"


class FileAuditKey:
    """A key file; created with 32 random bytes (hex) and mode 0600 when absent.

    Raises (from `secret`):
        ConfigError: the file cannot be created or read, is readable by group or others,
            or holds fewer than 32 bytes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._secret: bytes | None = None

    def secret(self) -> bytes:
        if self._secret is None:
            if not self.path.exists():
                self._create()
            self._secret = _checked(self._read(), str(self.path))
        return self._secret

    def _create(self) -> None:
        # Written to a private temporary file, then linked into place: a concurrent first
        # run never reads a half-written key, and an existing key is never replaced.
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".audit-key-")
            try:
                with os.fdopen(fd, "w") as file:
                    file.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
                os.link(temporary, self.path)
            except FileExistsError:
                pass
            finally:
                os.unlink(temporary)
        except OSError as exc:
            raise ConfigError(f"audit key file {self.path}: cannot create: {exc.strerror}") from exc

    def _read(self) -> bytes:
        try:
            mode = self.path.stat().st_mode
            if mode & 0o077:
                raise ConfigError(
                    f"audit key file {self.path}: readable by others (mode {mode & 0o777:o});"
                    f" run chmod 600 {self.path}"
                )
            return self.path.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"audit key file {self.path}: cannot read: {exc.strerror}") from exc

    def __repr__(self) -> str:
        return f"FileAuditKey(path={str(self.path)!r})"


class SecretsManagerAuditKey:
    """The key in AWS Secrets Manager (`SecretString` or `SecretBinary`), read once.

    Args:
        client: A boto3 `secretsmanager` client.
        secret_id: The secret's name or ARN.

    Raises (from `secret`):
        ConfigError: the secret does not exist, access is denied, or it is too short.
        ToolUnavailable: Secrets Manager failed otherwise (retry).
    """

    def __init__(self, client: Any, secret_id: str) -> None:
        self._client = client
        self.secret_id = secret_id
        self._secret: bytes | None = None

    def secret(self) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        if self._secret is None:
            source = f"secret {self.secret_id}"
            try:
                response = self._client.get_secret_value(SecretId=self.secret_id)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                error = ConfigError if code in _CONFIG_CODES else ToolUnavailable
                raise error(f"audit key from {source}: {code}") from exc
            except BotoCoreError as exc:
                raise ToolUnavailable(f"audit key from {source}: {exc}") from exc
            text = response.get("SecretString")
            raw = text.encode() if text is not None else bytes(response["SecretBinary"])
            self._secret = _checked(raw, source)
        return self._secret

    def __repr__(self) -> str:
        return f"SecretsManagerAuditKey(secret_id={self.secret_id!r})"


@functools.cache
def process_audit_key() -> StaticAuditKey:
    """A random key for stores opened without one (tests, throwaway stores).

    It lives as long as the process, so a log written with it verifies only in that
    process; the CLI and the harness pass the configured key instead.
    """
    return StaticAuditKey(secrets.token_bytes(MIN_KEY_BYTES), "this process (ephemeral)")
