"""The effectiveness prior: runbooks whose fixes verified rank a little higher for similar
evidence, runbooks whose fixes failed a little lower.

A runbook's weight is `1 + STRENGTH × (rate − 0.5)`, where `rate = (successes + 1) / (outcomes +
2)` over the audited outcomes of every action it prescribed (Laplace's rule, so a runbook
without outcomes weighs exactly 1). With `STRENGTH = 0.2` a weight stays within 0.9–1.1: it
reorders runbooks that match about equally well and never lifts a poor match over a good one.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from healer.trust import TrustRecord
from knowledge_base.retriever import Retriever, RunbookHit

STRENGTH = 0.2


class Prior(BaseModel):
    model_config = ConfigDict(frozen=True)

    runbook_id: str
    weight: float
    successes: int
    outcomes: int

    @property
    def why(self) -> str:
        return f"prior ×{self.weight:.2f}: {self.successes} of {self.outcomes} outcomes succeeded"


def effectiveness(records: Iterable[TrustRecord]) -> dict[str, Prior]:
    """Each runbook's prior from the trust records of its actions."""
    totals: dict[str, tuple[int, int]] = {}
    for record in records:
        successes, outcomes = totals.get(record.runbook, (0, 0))
        totals[record.runbook] = (successes + record.successes, outcomes + len(record.results))
    return {
        runbook: Prior(
            runbook_id=runbook,
            weight=round(1 + STRENGTH * ((s + 1) / (n + 2) - 0.5), 4),
            successes=s,
            outcomes=n,
        )
        for runbook, (s, n) in totals.items()
    }


class WeightedRetriever:
    """A retriever whose hits are weighted by their runbook's prior and ranked again."""

    def __init__(self, inner: Retriever, priors: dict[str, Prior]) -> None:
        self._inner = inner
        self.priors = priors

    def search(
        self, query: str, k: int = 5, filters: dict[str, str] | None = None
    ) -> list[RunbookHit]:
        hits = self._inner.search(query, k=k, filters=filters)
        if not self.priors:
            return hits
        weighted = [
            hit.model_copy(update={"score": hit.score * self._weight(hit.runbook_id)})
            for hit in hits
        ]
        return sorted(weighted, key=lambda hit: hit.score, reverse=True)

    def _weight(self, runbook_id: str) -> float:
        prior = self.priors.get(runbook_id)
        return prior.weight if prior else 1.0
