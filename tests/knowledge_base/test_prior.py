"""The effectiveness prior: small, explained, and only where outcomes were measured."""

from __future__ import annotations

from healer.trust import Result, TrustRecord
from knowledge_base.prior import WeightedRetriever, effectiveness
from knowledge_base.retriever import RunbookHit


def record(runbook: str, *results: Result, action: str = "clear_disk_space") -> TrustRecord:
    return TrustRecord(action=action, runbook=runbook, results=results)


def hit(runbook: str, score: float) -> RunbookHit:
    return RunbookHit(runbook_id=runbook, section="Fix", score=score, text="", source="")


class FixedHits:
    def __init__(self, hits: list[RunbookHit]) -> None:
        self.hits = hits

    def search(self, query: str, k: int = 5, filters: dict[str, str] | None = None) -> list:  # type: ignore[type-arg]
        return self.hits[:k]


def test_the_prior_is_bounded_and_neutral_without_outcomes() -> None:
    priors = effectiveness(
        [
            record("logs", *[Result.RECOVERED] * 100),
            record("temp", *[Result.NOT_RECOVERED] * 100),
            record("logs", Result.AGREED, action="restart_service"),
            record("none"),
        ]
    )
    assert 1.09 < priors["logs"].weight <= 1.1 and 0.9 <= priors["temp"].weight < 0.91
    assert priors["none"].weight == 1.0
    assert priors["logs"].why == "prior ×1.10: 101 of 101 outcomes succeeded"


def test_it_reorders_near_ties_but_not_a_clearly_better_match() -> None:
    priors = effectiveness(
        [record("b", *[Result.RECOVERED] * 20), record("a", Result.ACTION_FAILED)]
    )
    near = WeightedRetriever(FixedHits([hit("a", 0.50), hit("b", 0.48)]), priors)
    far = WeightedRetriever(FixedHits([hit("a", 0.50), hit("b", 0.30)]), priors)

    assert [h.runbook_id for h in near.search("disk full")] == ["b", "a"]
    assert [h.runbook_id for h in far.search("disk full")] == ["a", "b"]
