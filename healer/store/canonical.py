"""Canonical JSON and UTC time helpers shared by the store adapters.

Hashes are computed over data that has already been through JSON, so what is read back from
any backend hashes to the same value as what was written.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel


def require_utc(value: datetime, field: str) -> datetime:
    """Return `value` in UTC; raise ValueError naming `field` if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: naive datetime {value.isoformat()}; use a timezone-aware time")
    return value.astimezone(UTC)


def sortable(value: datetime, field: str) -> str:
    """Fixed-width UTC ISO string whose text order is time order (for indexed columns)."""
    return require_utc(value, field).isoformat(timespec="microseconds")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return require_utc(value, "data").isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"data: {type(value).__name__} is not JSON-serialisable")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, no NaN, tz-aware datetimes as ISO."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    )


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON-native form of `data` (what any backend returns after a round trip)."""
    result: dict[str, Any] = json.loads(canonical_json(data))
    return result


def raw_json(raw: dict[str, Any]) -> str:
    """Lenient JSON for untrusted incoming bodies: never fails, so nothing is lost."""
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)


def raw_dedup_key(raw: dict[str, Any]) -> str:
    """Dedup key for an event that has none (malformed): the hash of its body."""
    return "raw-sha256:" + hashlib.sha256(raw_json(raw).encode()).hexdigest()
