"""Fixtures for the store tests: an in-memory store, a file store, a controllable clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from healer.domain import Incident
from healer.sandbox.server import LoopbackMotoServer
from healer.store import SqliteStore
from healer.store.dynamodb import DynamoStore, table_definition

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


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[Any]:
    """A DynamoDB resource on a moto server on loopback, for the whole session."""
    server = LoopbackMotoServer()
    server.start()
    try:
        yield _dynamodb_resource(server.endpoint_url)
    finally:
        server.stop()


_TABLES = itertools.count()


@pytest.fixture(params=["sqlite", "dynamodb"])
def open_contract_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Any]]:
    """Opens handles on one fresh store of each kind the protocols have: a SQLite file, a
    DynamoDB table on moto. Two handles are two processes (or Lambda containers) sharing it."""
    opened: list[SqliteStore] = []
    if request.param == "sqlite":

        def open_sqlite() -> SqliteStore:
            opened.append(SqliteStore(tmp_path / "healer.db", clock=FakeClock()))
            return opened[-1]

        yield open_sqlite
        for handle in opened:
            handle.close()
        return
    resource, name = request.getfixturevalue("new_dynamodb_table")("healer")
    endpoint = resource.meta.client.meta.endpoint_url
    yield lambda: DynamoStore(_dynamodb_resource(endpoint), name, clock=FakeClock())


@pytest.fixture
def new_dynamodb_table(dynamodb: Any) -> Callable[[str], tuple[Any, str]]:
    """Creates a fresh table on the session's moto server: (a resource of its own, name)."""

    def create(prefix: str) -> tuple[Any, str]:
        resource = _dynamodb_resource(dynamodb.meta.client.meta.endpoint_url)
        name = f"{prefix}-{next(_TABLES)}"
        resource.meta.client.create_table(**table_definition(name))
        return resource, name

    return create


@pytest.fixture
def contract_store(open_contract_store: Callable[[], Any]) -> Any:
    """One handle on a fresh store of each kind; the contract tests (events, approvals) take
    it, so they run against both."""
    return open_contract_store()


def _dynamodb_resource(endpoint: str) -> Any:
    return boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


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
