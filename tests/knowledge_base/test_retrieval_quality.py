"""The retrieval gate: the labelled query set, and the hybrid's recall on it."""

from __future__ import annotations

from collections import Counter

import pytest

from evals.kb_eval import QuerySet, RetrievalReport, evaluate, load_queries
from healer.catalog import RUNBOOKS_DIR
from knowledge_base.chunks import chunk_runbooks
from knowledge_base.embeddings import WordLlamaEmbedder
from knowledge_base.hybrid import MODES, HybridIndex, HybridRetriever
from knowledge_base.runbooks import load_runbooks


@pytest.fixture(scope="module")
def runbook_ids() -> list[str]:
    return [r.id for r in load_runbooks(RUNBOOKS_DIR)]


@pytest.fixture(scope="module")
def queries(runbook_ids: list[str]) -> QuerySet:
    return load_queries(runbook_ids=runbook_ids)


@pytest.fixture(scope="module")
def reports(queries: QuerySet) -> dict[str, RetrievalReport]:
    embedder = WordLlamaEmbedder()
    index = HybridIndex.build(chunk_runbooks(load_runbooks(RUNBOOKS_DIR)), embedder)
    hybrid = HybridRetriever(index, embedder)
    return {mode: evaluate(mode, hybrid.with_mode(mode), queries) for mode in MODES}


def test_the_query_set_covers_every_runbook_at_least_twice(
    queries: QuerySet, runbook_ids: list[str]
) -> None:
    counts = Counter(e for q in queries.queries for e in q.expected)

    assert len(queries.queries) >= 60
    assert {rid: counts[rid] for rid in runbook_ids if counts[rid] < 2} == {}


def test_the_hybrid_meets_the_recall_targets(reports: dict[str, RetrievalReport]) -> None:
    hybrid = reports["hybrid"]

    assert hybrid.recall_at_3 >= 0.90, hybrid.misses
    assert hybrid.recall_at_1 >= 0.75, hybrid.misses


def test_fusion_ranks_better_than_either_signal_alone(reports: dict[str, RetrievalReport]) -> None:
    assert reports["hybrid"].mrr >= reports["bm25"].mrr
    assert reports["hybrid"].mrr >= reports["embeddings"].mrr
