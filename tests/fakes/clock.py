"""A clock that stands still until a test moves it."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """Returns `now` until a test changes it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
