"""Knowledge-base timings: index build, and queries over a synthetic 1,000-chunk corpus.

Run: `.venv/bin/python -m evals.bench_kb [--json]`; `--sweep` compares fusion choices on the
query set. Query latency on the real runbooks is measured by `healer kb eval`; this script
measures what that does not: building the index of every runbook (cold: the first build in a
process, including loading the embedder; warm: median of repeated rebuilds) and query latency
when the corpus grows to 1,000 chunks.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.kb_eval import evaluate, load_queries
from healer.catalog import RUNBOOKS_DIR
from knowledge_base.chunks import Chunk, chunk_runbooks
from knowledge_base.embeddings import WordLlamaEmbedder
from knowledge_base.hybrid import MODES, HybridIndex, HybridRetriever
from knowledge_base.index_store import IndexStore
from knowledge_base.retriever import Retriever, RunbookHit
from knowledge_base.runbooks import load_runbooks

SYNTHETIC_CHUNKS = 1000
REBUILDS = 7


def synthetic_corpus(
    chunks: list[Chunk], size: int = SYNTHETIC_CHUNKS, seed: int = 7
) -> list[Chunk]:
    """`size` chunks shaped like the real ones: each a real chunk with a third of its words
    swapped for words drawn from the whole corpus, under 5 sections per synthetic runbook."""
    rng = random.Random(seed)
    vocabulary = [w for c in chunks for w in c.text.split()]
    out = []
    for i in range(size):
        base = chunks[i % len(chunks)]
        words = base.text.split()
        for j in rng.sample(range(len(words)), len(words) // 3):
            words[j] = rng.choice(vocabulary)
        out.append(
            base.model_copy(
                update={
                    "runbook_id": f"synthetic-{i // 5:03d}",
                    "section": f"section-{i % 5}",
                    "text": " ".join(words),
                }
            )
        )
    return out


def _median_ms(run: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def bench(runbooks_dir: Path = RUNBOOKS_DIR) -> dict[str, Any]:
    """Every timing, as a JSON-ready dict (milliseconds)."""
    embedder = WordLlamaEmbedder()
    with tempfile.TemporaryDirectory() as folder:
        store = IndexStore(Path(folder))
        cold = store.open(runbooks_dir, embedder, rebuild=True)
        warm_ms = _median_ms(lambda: store.open(runbooks_dir, embedder, rebuild=True), REBUILDS)
        load_ms = _median_ms(lambda: store.open(runbooks_dir, embedder), REBUILDS)
    runbooks = load_runbooks(runbooks_dir)
    chunks = chunk_runbooks(runbooks)
    synthetic = synthetic_corpus(chunks)
    build_1000_ms = _median_ms(lambda: HybridIndex.build(synthetic, embedder), REBUILDS)
    queries = load_queries(runbook_ids=[r.id for r in runbooks])
    retriever = HybridRetriever(HybridIndex.build(synthetic, embedder), embedder)
    latency = {}
    for mode in MODES:
        report = evaluate(mode, retriever.with_mode(mode), queries)
        latency[mode] = {"p50_ms": report.p50_ms, "p95_ms": report.p95_ms}
    return {
        "runbooks": len(runbooks),
        "chunks": len(chunks),
        "index_build_cold_ms": round(cold.seconds * 1000, 2),
        "index_build_warm_median_ms": warm_ms,
        "index_load_median_ms": load_ms,
        "synthetic_chunks": len(synthetic),
        "synthetic_build_median_ms": build_1000_ms,
        "synthetic_queries": len(queries.queries),
        "synthetic_latency": latency,
        "hybrid_over_bm25_p50": round(
            latency["hybrid"]["p50_ms"] / max(latency["bm25"]["p50_ms"], 1e-9), 2
        ),
    }


class _RrfRetriever:
    """Reciprocal-rank fusion of the BM25 and embedding rankings (the alternative to weights)."""

    def __init__(self, hybrid: HybridRetriever, rrf_k: int = 60) -> None:
        self._signals = [hybrid.with_mode("bm25"), hybrid.with_mode("embeddings")]
        self._rrf_k = rrf_k

    def search(
        self, query: str, k: int = 5, filters: dict[str, str] | None = None
    ) -> list[RunbookHit]:
        fused: dict[str, float] = {}
        first: dict[str, RunbookHit] = {}
        for signal in self._signals:
            for rank, hit in enumerate(signal.search(query, k=1000, filters=filters), 1):
                fused[hit.runbook_id] = fused.get(hit.runbook_id, 0.0) + 1 / (self._rrf_k + rank)
                first.setdefault(hit.runbook_id, hit)
        order = sorted(fused, key=lambda rid: -fused[rid])[:k]
        return [first[rid].model_copy(update={"score": fused[rid]}) for rid in order]


def fusion_sweep(runbooks_dir: Path = RUNBOOKS_DIR) -> list[dict[str, Any]]:
    """Recall and MRR on the query set for each BM25 weight of the weighted sum, and for RRF."""
    embedder = WordLlamaEmbedder()
    runbooks = load_runbooks(runbooks_dir)
    index = HybridIndex.build(chunk_runbooks(runbooks), embedder)
    queries = load_queries(runbook_ids=[r.id for r in runbooks])
    candidates: list[tuple[str, Retriever]] = [
        (f"weighted bm25={w / 10:.1f}", HybridRetriever(index, embedder, bm25_weight=w / 10))
        for w in range(11)
    ]
    hybrid = HybridRetriever(index, embedder)
    candidates += [(f"rrf k={k}", _RrfRetriever(hybrid, k)) for k in (5, 60)]
    rows = []
    for name, retriever in candidates:
        report = evaluate(name, retriever, queries)
        rows.append(
            {
                "fusion": name,
                "recall_at_1": report.recall_at_1,
                "recall_at_3": report.recall_at_3,
                "mrr": report.mrr,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--sweep", action="store_true", help="compare fusion weights and RRF")
    args = parser.parse_args(argv)
    if args.sweep:
        rows = fusion_sweep()
        if args.json:
            print(json.dumps(rows, indent=2))
        for row in [] if args.json else rows:
            print(
                f"{row['fusion']:<20} recall@1 {row['recall_at_1']:.3f}  "
                f"recall@3 {row['recall_at_3']:.3f}  MRR {row['mrr']:.3f}"
            )
        return 0
    result = bench()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"runbooks: {result['runbooks']} ({result['chunks']} chunks)")
    print(f"index build, cold (loads the embedder): {result['index_build_cold_ms']} ms")
    print(f"index build, warm, median of {REBUILDS}: {result['index_build_warm_median_ms']} ms")
    print(f"index load from disk, median of {REBUILDS}: {result['index_load_median_ms']} ms")
    print(
        f"synthetic corpus: {result['synthetic_chunks']} chunks, "
        f"build median {result['synthetic_build_median_ms']} ms"
    )
    for mode, numbers in result["synthetic_latency"].items():
        print(
            f"  {mode:<10} query p50 {numbers['p50_ms']:.3f} ms  p95 {numbers['p95_ms']:.3f} ms "
            f"({result['synthetic_queries']} queries)"
        )
    print(f"  hybrid / bm25 p50: {result['hybrid_over_bm25_p50']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
