"""Digest sinks: a local directory, and S3 with Object Lock; neither overwrites a digest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from healer.errors import ToolUnavailable
from healer.store import LocalDigestDirectory, S3DigestSink, SqliteStore, StaticAuditKey


def test_a_local_directory_keeps_digests_and_refuses_to_overwrite(tmp_path: Path) -> None:
    sink = LocalDigestDirectory(tmp_path / "digests")
    assert sink.names() == []

    sink.write("000001-a", b"{}")
    sink.write("000002-b", b"[]")

    assert sink.names() == ["000001-a", "000002-b"]
    assert sink.read("000002-b") == b"[]"
    assert sink.read("000003-c") is None
    with pytest.raises(ToolUnavailable, match="000001-a"):
        sink.write("000001-a", b"forged")
    assert sink.read("000001-a") == b"{}"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="healer-audit", ObjectLockEnabledForBucket=True)
        yield client


def test_s3_digests_are_locked_in_governance_mode(s3: Any) -> None:
    sink = S3DigestSink(s3, "healer-audit", prefix="digests/", retain_days=400)

    sink.write("000001-a", b'{"n":1}')

    head = s3.head_object(Bucket="healer-audit", Key="digests/000001-a.json")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"].year >= 2026
    assert sink.names() == ["000001-a"]
    assert sink.read("000001-a") == b'{"n":1}'
    assert sink.read("000009-z") is None


def test_s3_refuses_to_overwrite_a_digest(s3: Any) -> None:
    sink = S3DigestSink(s3, "healer-audit", prefix="digests/")
    sink.write("000001-a", b"{}")

    with pytest.raises(ToolUnavailable):
        sink.write("000001-a", b"forged")
    assert sink.read("000001-a") == b"{}"


def test_an_audit_log_anchored_in_s3_verifies_and_a_missing_bucket_is_reported(
    s3: Any, tmp_path: Path
) -> None:
    key = StaticAuditKey(b"k" * 32)
    db_path = tmp_path / "healer.db"
    sink = S3DigestSink(s3, "healer-audit", prefix="digests/", retain_days=1)
    with SqliteStore(db_path, audit_key=key, digests=sink, digest_every=2) as store:
        for kind in ("incident_opened", "diagnosed", "closed"):
            store.append("inc-1", kind, "system", {})
        report = store.verify()
    assert report.ok and report.digests_checked == 3

    gone = S3DigestSink(s3, "no-such-bucket", prefix="digests/")
    with SqliteStore(db_path, audit_key=key, digests=gone) as store:
        (problem,) = store.verify().problems
    assert str(problem).startswith("audit log: no digest in s3://no-such-bucket/digests/")


class FailingSink(LocalDigestDirectory):
    def write(self, name: str, body: bytes) -> None:
        raise ToolUnavailable("digest bucket unreachable")


def test_an_event_whose_digest_cannot_be_written_is_not_appended(tmp_path: Path) -> None:
    key = StaticAuditKey(b"k" * 32)
    with SqliteStore(":memory:", audit_key=key, digests=FailingSink(tmp_path)) as store:
        with pytest.raises(ToolUnavailable, match="unreachable"):
            store.append("inc-1", "incident_opened", "system", {})

        assert store.events("inc-1") == []
        assert store.verify().ok
