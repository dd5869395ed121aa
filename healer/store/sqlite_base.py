"""`SqliteBase`: the shared SQLite connection (WAL, foreign keys on) and its transactions.

One connection is shared between threads behind a lock; writes run in `BEGIN IMMEDIATE`
transactions, so several processes may share one database file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from healer.errors import ConfigError, ToolUnavailable
from healer.store.canonical import sortable
from healer.store.sqlite_schema import SCHEMA, SCHEMA_VERSION


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class SqliteBase:
    """An open store database; the per-protocol classes build on it.

    Args:
        path: Database file, or ":memory:" for a throwaway store.
        clock: Returns the current aware time; injected by tests.
        timeout: Seconds to wait for another writer before giving up.

    Raises:
        ToolUnavailable: the database cannot be opened, or is locked or failing.
        ConfigError: the database was written with another schema version.
    """

    found_at_open: frozenset[str]
    """Names of the tables, indexes and triggers the database had before it was opened."""

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], datetime] = utc_now,
        timeout: float = 30.0,
    ) -> None:
        self.path = str(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self.found_at_open = frozenset(
                row[0] for row in self._db.execute("SELECT name FROM sqlite_master")
            )
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION and (version or self.found_at_open):
                self._db.close()
                raise ConfigError(
                    f"store {self.path}: schema {version}, this healer needs schema"
                    f" {SCHEMA_VERSION}; nothing has shipped, so delete {Path(self.path).parent}/"
                    " (or the file) and run again"
                )
            self._db.executescript(SCHEMA)
            if version != SCHEMA_VERSION:
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise ToolUnavailable(f"store {self.path}: cannot open: {exc}") from exc

    @property
    def journal_mode(self) -> str:
        """The SQLite journal mode in effect ("wal" for a file database)."""
        with self._read() as db:
            return str(db.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.OperationalError as exc:
                raise ToolUnavailable(f"store {self.path}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` transaction; a write inside another joins the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            committed = False
            self._depth = 1
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
                committed = True
            except sqlite3.OperationalError as exc:
                raise ToolUnavailable(f"store {self.path}: {exc}") from exc
            finally:
                self._depth = 0
                if not committed and self._db.in_transaction:
                    self._db.execute("ROLLBACK")

    def _now(self) -> str:
        return sortable(self._clock(), "clock")
