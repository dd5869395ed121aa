"""Fixtures for the store tests: an in-memory store, a file store, a controllable clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healer.domain import Incident
from healer.store import SqliteStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that advances one second per reading."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    with SqliteStore(":memory:", clock=FakeClock()) as opened:
        yield opened


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "healer.db"


@pytest.fixture
def file_store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path, clock=FakeClock()) as opened:
        yield opened


def _make_incident(
    incident_id: str,
    opened_at: datetime = T0,
    resources: list[str] | None = None,
    **changes: object,
) -> Incident:
    return Incident(
        id=incident_id,
        opened_at=opened_at,
        account="123456789012",
        region="us-east-1",
        alarms=[f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{incident_id}"],
        resources=resources if resources is not None else ["i-0abc"],
        **changes,  # type: ignore[arg-type]
    )


@pytest.fixture
def make_incident() -> Callable[..., Incident]:
    """Build an incident; keyword arguments override fields."""
    return _make_incident
