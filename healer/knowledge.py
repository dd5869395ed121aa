"""The runbook knowledge the agents search (loaded once per process per folder)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from knowledge_base.embeddings import WordLlamaEmbedder
from knowledge_base.hybrid import HybridRetriever
from knowledge_base.index_store import IndexStore
from knowledge_base.runbooks import Runbook

DEFAULT_INDEX_DIR = Path(".healer/kb")


@cache
def runbook_knowledge(
    directory: Path, index_dir: Path = DEFAULT_INDEX_DIR
) -> tuple[HybridRetriever, dict[str, Runbook]]:
    """The local hybrid retriever over a runbook folder, and the runbooks by id.

    The index is read from `index_dir` when the runbooks are unchanged, else rebuilt there.
    """
    embedder = WordLlamaEmbedder()
    opened = IndexStore(index_dir).open(directory, embedder)
    return HybridRetriever(opened.index, embedder), {r.id: r for r in opened.runbooks}
