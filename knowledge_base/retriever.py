"""The Retriever protocol: symptoms in, ranked runbook chunks out."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict


class RunbookHit(BaseModel):
    """One ranked chunk of a runbook."""

    model_config = ConfigDict(frozen=True)

    runbook_id: str
    section: str
    score: float
    text: str
    source: str


class Retriever(Protocol):
    def search(
        self, query: str, k: int = 5, filters: dict[str, str] | None = None
    ) -> list[RunbookHit]: ...
