"""Fixtures for workflow tests: settings for a throw-away store, case paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from healer.config import HealerSettings
from healer.store import SqliteStore

CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"


@pytest.fixture
def settings(tmp_path: Path) -> HealerSettings:
    return HealerSettings(store_path=tmp_path / "healer.db", approvers=["U024BE7LH"])


@pytest.fixture
def store(settings: HealerSettings) -> SqliteStore:
    return SqliteStore(settings.store_path)


@pytest.fixture
def case_path() -> object:
    return lambda case_id: CASES / f"{case_id}.yaml"
