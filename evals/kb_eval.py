"""Retrieval evaluation: recall@1, recall@3, MRR and latency over a labelled query set."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from healer.errors import ConfigError
from knowledge_base.retriever import Retriever

QUERIES_PATH = Path(__file__).resolve().parent / "kb_queries.yaml"
HUMAN_QUERIES_PATH = Path(__file__).resolve().parent / "kb_human_queries.yaml"


class LabelledQuery(BaseModel):
    """A symptom description and the runbook ids that should answer it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query: str = Field(min_length=1)
    expected: tuple[str, ...] = Field(min_length=1)


class QuerySet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    queries: tuple[LabelledQuery, ...]
    unrelated: tuple[str, ...] = ()
    """Queries about nothing in the library: a retriever should find nothing for them."""


class RetrievalReport(BaseModel):
    """How well, and how fast, one retriever answered a query set."""

    model_config = ConfigDict(frozen=True)

    name: str
    queries: int
    recall_at_1: float
    recall_at_3: float
    mrr: float
    p50_ms: float
    p95_ms: float
    misses: tuple[str, ...] = ()
    unrelated_found: tuple[str, ...] = ()
    """The set's unrelated queries that found a runbook all the same."""


def load_queries(path: Path = QUERIES_PATH, runbook_ids: Iterable[str] | None = None) -> QuerySet:
    """Read a query set; with `runbook_ids`, every expected id must be one of them.

    Raises:
        ConfigError: the file is malformed or names an unknown runbook.
    """
    try:
        queries = QuerySet.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path}: invalid query set: {exc}") from exc
    if runbook_ids is not None:
        known = set(runbook_ids)
        unknown = sorted({e for q in queries.queries for e in q.expected} - known)
        if unknown:
            raise ConfigError(f"{path}: unknown runbook ids: {', '.join(unknown)}")
    return queries


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of the values (fraction in 0..1)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def evaluate(name: str, retriever: Retriever, queries: QuerySet, k: int = 5) -> RetrievalReport:
    """Run every query once (after one warm-up query) and score the rankings.

    Args:
        name: a label for the report.
        retriever: the retriever under test.
        queries: the labelled queries.
        k: how many runbooks each search returns (the MRR cut-off).
    """
    retriever.search(queries.queries[0].query, k=k)
    hits1 = hits3 = 0
    reciprocal: list[float] = []
    latencies: list[float] = []
    misses: list[str] = []
    for labelled in queries.queries:
        started = time.perf_counter()
        ranked = [h.runbook_id for h in retriever.search(labelled.query, k=k)]
        latencies.append((time.perf_counter() - started) * 1000)
        rank = next((i for i, rid in enumerate(ranked, 1) if rid in labelled.expected), None)
        hits1 += rank == 1
        hits3 += rank is not None and rank <= 3
        reciprocal.append(1 / rank if rank else 0.0)
        if rank != 1:
            got = ranked[0] if ranked else "nothing"
            misses.append(f"{labelled.expected[0]} (rank {rank or '-'}, got {got})")
    n = len(queries.queries)
    return RetrievalReport(
        name=name,
        queries=n,
        recall_at_1=round(hits1 / n, 4),
        recall_at_3=round(hits3 / n, 4),
        mrr=round(statistics.fmean(reciprocal), 4),
        p50_ms=round(percentile(latencies, 0.5), 3),
        p95_ms=round(percentile(latencies, 0.95), 3),
        misses=tuple(misses),
        unrelated_found=tuple(q for q in queries.unrelated if retriever.search(q, k=1)),
    )
