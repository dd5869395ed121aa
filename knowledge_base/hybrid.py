"""The local hybrid retriever: BM25 (bm25s) fused with static embeddings, per runbook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import bm25s
import numpy as np
import numpy.typing as npt

from knowledge_base.chunks import Chunk, check_filters
from knowledge_base.embeddings import Embedder, Vectors
from knowledge_base.retriever import RunbookHit
from knowledge_base.text import tokenize

Mode = Literal["hybrid", "bm25", "embeddings"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "embeddings")
BM25_WEIGHT = 0.3
"""Share of BM25 in the fused score (embeddings get the rest); measured in BENCHMARKS.md."""

MIN_BM25 = 2.0
MIN_COSINE = 0.25
"""The absolute floor: a runbook is a hit only when its best chunk exceeds one of these raw
scores (scaled scores are relative, so without it an unrelated query still ranks runbooks).
Measured on this library: the labelled queries' best chunks reach BM25 3.3 and cosine 0.35 at
least; "banana smoothie recipe", "weather in paris tomorrow" and "how do I bake bread" reach
BM25 1.5 and cosine 0.19 at most."""

Scores = npt.NDArray[np.float64]


def embedding_text(text: str) -> str:
    """What the embedder reads: the lexical words, so `CPUUtilization` reads `cpu utilization`."""
    return " ".join(tokenize(text))


def build_bm25(chunks: Sequence[Chunk]) -> Any:
    """A bm25s index over the chunks' words (row i is chunk i)."""
    index = bm25s.BM25()
    index.index([tokenize(c.text) or [""] for c in chunks], show_progress=False)
    return index


@dataclass(frozen=True)
class HybridIndex:
    """Chunks grouped by runbook, their BM25 index and embedding rows (row i is chunk i)."""

    chunks: tuple[Chunk, ...]
    bm25: Any
    vectors: Vectors
    embedder_name: str

    @classmethod
    def build(cls, chunks: Sequence[Chunk], embedder: Embedder) -> HybridIndex:
        """Index chunks: BM25 over their words, one embedding per chunk."""
        order: dict[str, list[Chunk]] = {}
        for c in chunks:
            order.setdefault(c.runbook_id, []).append(c)
        grouped = tuple(c for group in order.values() for c in group)
        return cls(
            chunks=grouped,
            bm25=build_bm25(grouped),
            vectors=embedder.embed([embedding_text(c.text) for c in grouped]),
            embedder_name=embedder.name,
        )


def _scale_by(reference: Scores, values: Scores) -> Scores:
    """Values min-max scaled by the finite range of `reference` (a flat positive range is 1)."""
    finite = reference[np.isfinite(reference)]
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo <= 1e-12:
        return np.where(np.isfinite(values), 1.0 if hi > 0 else 0.0, -np.inf)
    return (values - lo) / (hi - lo)


class HybridRetriever:
    """BM25 and cosine similarity over runbook chunks, fused per runbook.

    Each signal scores every chunk; a runbook takes its best chunk in each signal; both are
    min-max scaled over the runbooks and summed with weights (BM25 `bm25_weight`, embeddings the
    rest). A hit is a runbook with the section that scores best under the same weights. A
    runbook with no shared word and no positive cosine is not a hit; with `absolute_floor`, nor
    is one whose best chunk exceeds neither `MIN_BM25` nor `MIN_COSINE` (for people reading
    `kb search`; the offline engine weighs weak hits against the evidence itself).

    Args:
        index: the chunks, their BM25 index and their embeddings.
        embedder: embeds queries; must be the embedder the index was built with.
        mode: `hybrid`, or one signal alone (`bm25`, `embeddings`) for evaluation.
        bm25_weight: share of BM25 in the hybrid score.
        absolute_floor: drop hits under the raw-score floor, so an unrelated query finds nothing.
    """

    def __init__(
        self,
        index: HybridIndex,
        embedder: Embedder,
        mode: Mode = "hybrid",
        bm25_weight: float = BM25_WEIGHT,
        absolute_floor: bool = False,
    ) -> None:
        if index.embedder_name != embedder.name:
            raise ValueError(f"index built with {index.embedder_name}, not {embedder.name}")
        self._index = index
        self._embedder = embedder
        self._mode = mode
        self._floor = (MIN_BM25, MIN_COSINE) if absolute_floor else (0.0, 0.0)
        self._bm25_weight = {"hybrid": bm25_weight, "bm25": 1.0, "embeddings": 0.0}[mode]
        owners = [c.runbook_id for c in index.chunks]
        self._starts = np.array(
            [i for i, rid in enumerate(owners) if i == 0 or owners[i - 1] != rid]
        )
        self._ends = np.append(self._starts[1:], len(owners))
        self._everything = np.ones(len(owners), dtype=bool)

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        return self._index.chunks

    @property
    def mode(self) -> Mode:
        return self._mode

    def with_mode(self, mode: Mode) -> HybridRetriever:
        """The same index searched with another signal mix."""
        retriever = HybridRetriever(self._index, self._embedder, mode)
        retriever._floor = self._floor
        return retriever

    def search(
        self, query: str, k: int = 5, filters: dict[str, str] | None = None
    ) -> list[RunbookHit]:
        """Runbooks that best match the query, one hit each (its best section), best first.

        Args:
            query: symptoms in words: metric names, log lines, recent changes.
            k: how many runbooks at most.
            filters: optional `category` and/or `action` (a catalog action id) to match.

        Raises:
            ToolInputError: a filter key is unknown.
        """
        check_filters(filters)
        allowed = (
            self._everything if not filters else np.array([c.matches(filters) for c in self.chunks])
        )
        if k <= 0 or not allowed.any():
            return []
        w = self._bm25_weight
        lexical = np.where(allowed, self._bm25_scores(query) if w > 0 else 0.0, -np.inf)
        semantic = np.where(allowed, self._cosine_scores(query) if w < 1 else 0.0, -np.inf)
        best_lexical = np.maximum.reduceat(lexical, self._starts)
        best_semantic = np.maximum.reduceat(semantic, self._starts)
        min_lexical, min_semantic = self._floor
        relevant = ((w > 0) & (best_lexical > min_lexical)) | (
            (w < 1) & (best_semantic > min_semantic)
        )
        if not relevant.any():
            return []
        runbook_scores = w * _scale_by(best_lexical, best_lexical) + (1 - w) * _scale_by(
            best_semantic, best_semantic
        )
        chunk_scores = w * _scale_by(best_lexical, lexical) + (1 - w) * _scale_by(
            best_semantic, semantic
        )
        ranked = [r for r in np.argsort(-runbook_scores, kind="stable") if relevant[r]][:k]
        return [self._hit(int(r), float(runbook_scores[r]), chunk_scores) for r in ranked]

    # -- scoring -----------------------------------------------------------------------------

    def _bm25_scores(self, query: str) -> Scores:
        words = [w for w in tokenize(query) if w in self._index.bm25.vocab_dict]
        if not words:
            return np.zeros(len(self.chunks))
        return np.asarray(self._index.bm25.get_scores(words), dtype=np.float64)

    def _cosine_scores(self, query: str) -> Scores:
        vector = self._embedder.embed([embedding_text(query)])[0]
        return np.asarray(self._index.vectors @ vector, dtype=np.float64)

    def _hit(self, runbook: int, score: float, chunk_scores: Scores) -> RunbookHit:
        """The runbook's hit, carried by its chunk that scores best under the same weights."""
        start, end = self._starts[runbook], self._ends[runbook]
        chunk = self.chunks[start + int(np.argmax(chunk_scores[start:end]))]
        return RunbookHit(
            runbook_id=chunk.runbook_id,
            section=chunk.section,
            score=round(score, 4),
            text=chunk.text,
            source=chunk.source,
        )
