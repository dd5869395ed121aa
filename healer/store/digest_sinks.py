"""Where signed audit digests are written, outside the database: a directory, or S3.

A sink never overwrites a digest: a second write of a name is refused.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from healer.errors import ToolUnavailable

SUFFIX = ".json"


@runtime_checkable
class DigestSink(Protocol):
    """Append-only storage of digest files, by name (without the `.json` suffix)."""

    location: str
    """Where the digests are, for messages (a directory, or s3://bucket/prefix)."""

    def write(self, name: str, body: bytes) -> None:
        """Store a new digest; ToolUnavailable if it cannot, or if `name` exists."""
        ...

    def read(self, name: str) -> bytes | None:
        """The digest's bytes, or None if it is gone."""
        ...

    def names(self) -> builtins.list[str]:
        """Every digest's name, sorted; empty when the location does not exist."""
        ...


class LocalDigestDirectory:
    """Digest files in a local directory (created on the first write)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)

    def write(self, name: str, body: bytes) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with (self.path / f"{name}{SUFFIX}").open("xb") as file:
                file.write(body)
        except OSError as exc:
            raise ToolUnavailable(f"audit digest {self.location}/{name}: {exc}") from exc

    def read(self, name: str) -> bytes | None:
        try:
            return (self.path / f"{name}{SUFFIX}").read_bytes()
        except FileNotFoundError:
            return None

    def names(self) -> builtins.list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.stem for p in self.path.glob(f"*{SUFFIX}"))


class S3DigestSink:
    """Digest objects in S3; with `retain_days`, each is locked in GOVERNANCE mode.

    The bucket must have Object Lock enabled for `retain_days` to take effect.

    Args:
        client: A boto3 `s3` client.
        bucket: The bucket name.
        prefix: Key prefix of the digests, e.g. "audit-digests/".
        retain_days: Days each digest is retained under Object Lock; None for no lock.
    """

    def __init__(
        self, client: Any, bucket: str, prefix: str = "", retain_days: int | None = None
    ) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix
        self.retain_days = retain_days
        self.location = f"s3://{bucket}/{prefix}"

    def write(self, name: str, body: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        lock: dict[str, Any] = {}
        if self.retain_days is not None:
            lock = {
                "ObjectLockMode": "GOVERNANCE",
                "ObjectLockRetainUntilDate": datetime.now(UTC) + timedelta(days=self.retain_days),
            }
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=self._key(name),
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
                **lock,
            )
        except (ClientError, BotoCoreError) as exc:
            raise ToolUnavailable(f"audit digest {self.location}{name}: {exc}") from exc

    def read(self, name: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(name))
            body: bytes = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise ToolUnavailable(f"audit digest {self.location}{name}: {exc}") from exc
        except BotoCoreError as exc:
            raise ToolUnavailable(f"audit digest {self.location}{name}: {exc}") from exc
        return body

    def names(self) -> builtins.list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        found: builtins.list[str] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    if key.endswith(SUFFIX) and "/" not in key:
                        found.append(key.removesuffix(SUFFIX))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                return []
            raise ToolUnavailable(f"audit digests {self.location}: {exc}") from exc
        except BotoCoreError as exc:
            raise ToolUnavailable(f"audit digests {self.location}: {exc}") from exc
        return sorted(found)

    def _key(self, name: str) -> str:
        return f"{self.prefix}{name}{SUFFIX}"
