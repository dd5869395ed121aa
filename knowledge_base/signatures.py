"""Symptom signatures: general patterns that tell which failure mode a log line reports."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from healer.errors import ConfigError

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "runbooks" / "signatures.yaml"


class Signature(BaseModel):
    """One failure mode's wording: patterns, the filter terms that find it, and its source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)
    terms: list[str] = Field(min_length=1)
    source: str = Field(min_length=10)
    weight: float = Field(1.0, gt=0, le=1)

    @field_validator("patterns", "unless")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns

    def matches(self, line: str) -> bool:
        """Whether the line reports this failure mode."""
        lowered = line.lower()
        if any(re.search(p, lowered) for p in self.unless):
            return False
        return any(re.search(p, lowered) for p in self.patterns)


class SignatureLibrary(BaseModel):
    model_config = ConfigDict(frozen=True)

    signatures: dict[str, Signature]

    def classify(self, line: str) -> list[str]:
        """The ids of every signature the line matches, in library order."""
        return [sid for sid, signature in self.signatures.items() if signature.matches(line)]

    def terms(self, ids: list[str] | None = None) -> list[str]:
        """Log filter terms that find the given signatures (all when None), without repeats."""
        chosen = self.signatures if ids is None else {i: self.signatures[i] for i in ids}
        return list(dict.fromkeys(t for s in chosen.values() for t in s.terms))


def parse_signatures(path: Path) -> SignatureLibrary:
    """The library in a signatures YAML file; ConfigError names what is wrong."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = document["signatures"]
        return SignatureLibrary(
            signatures={sid: Signature(id=sid, **entry) for sid, entry in entries.items()}
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValidationError, re.error) as exc:
        raise ConfigError(f"{path}: invalid signature library: {exc}") from exc


@cache
def default_signatures() -> SignatureLibrary:
    return parse_signatures(DEFAULT_PATH)
