"""The store as configured: SQLite with the audit key and the digest directory of the settings,
or the deployment's DynamoDB store (`store_backend = "dynamodb"`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from healer.config import HealerSettings
from healer.store import LocalDigestDirectory, SqliteStore

if TYPE_CHECKING:
    from healer.store import Store


def configured_store(
    settings: HealerSettings, path: Path | None = None, digest_dir: Path | None = None
) -> Store:
    """Open the store at `path` (default `store_path`) with the configured audit key; with
    `store_backend = "dynamodb"`, the deployment's table, audit key secret and digest bucket.

    Digests go to `digest_dir` (default `audit_digest_dir`); a throwaway store (one eval
    case) passes a directory of its own, as its log starts afresh.

    Raises:
        ConfigError: the audit key cannot be read or created, or the database has an
            older schema.
        ToolUnavailable: the database cannot be opened.
    """
    if settings.store_backend == "dynamodb":
        import boto3

        from healer.aws_services import aws_store  # the AWS libraries only when asked for

        return aws_store(settings, boto3.session.Session(region_name=settings.region))
    key = settings.audit_key_source()
    key.secret()  # fail now, with a clear message, rather than at the first append
    path = path or settings.store_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStore(
        path,
        audit_key=key,
        digests=LocalDigestDirectory(digest_dir or settings.audit_digest_dir),
        digest_every=settings.audit_digest_every,
    )
