"""The hybrid index on disk, keyed by the runbooks' contents and the embedder.

Layout: `<root>/<key>/` holds `manifest.json`, `chunks.json`, `vectors.npy` and `bm25/`. The key
hashes every runbook file (name and bytes), the embedder name and the index format, so editing,
adding or removing a runbook, or changing the embedder, leads to a rebuild. Older keys are
removed after a successful save.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import bm25s
import numpy as np
from pydantic import ValidationError

from knowledge_base.chunks import Chunk, chunk_runbooks
from knowledge_base.embeddings import Embedder
from knowledge_base.hybrid import HybridIndex
from knowledge_base.runbooks import Runbook, load_runbooks

logger = logging.getLogger(__name__)

INDEX_FORMAT = 1
"""Bump when the file layout changes (code changes to chunking and tokenising are in the key)."""

_INDEXING_CODE = ("chunks.py", "text.py", "hybrid.py", "runbooks.py")


@dataclass(frozen=True)
class OpenedIndex:
    """An index ready to search, with the runbooks it covers and how it was obtained."""

    index: HybridIndex
    runbooks: list[Runbook]
    key: str
    built: bool
    seconds: float
    path: Path | None


def index_key(runbooks_dir: Path, embedder_name: str) -> str:
    """A hash of the runbook files (names, bytes), the embedder, the format and indexing code."""
    digest = hashlib.sha256(f"format={INDEX_FORMAT}\nembedder={embedder_name}\n".encode())
    digest.update(_code_fingerprint().encode())
    for path in sorted(runbooks_dir.glob("*.md")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


@cache
def _code_fingerprint() -> str:
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _INDEXING_CODE:
        digest.update((package / name).read_bytes())
    return digest.hexdigest()


class IndexStore:
    """Persisted hybrid indexes under a folder (by default `.healer/kb`).

    Args:
        root: the folder; created on first save.
    """

    def __init__(self, root: Path) -> None:
        self._root = root

    def open(self, runbooks_dir: Path, embedder: Embedder, rebuild: bool = False) -> OpenedIndex:
        """The index of a runbook folder: loaded if current, else built and saved.

        Args:
            runbooks_dir: the folder of runbook markdown files.
            embedder: the embedder the index uses.
            rebuild: build even if a current index is stored.

        Raises:
            ConfigError: a runbook is invalid.
        """
        started = time.perf_counter()
        runbooks = load_runbooks(runbooks_dir)
        key = index_key(runbooks_dir, embedder.name)
        path: Path | None = self._root / key
        index = None if rebuild else self.load(self._root / key, embedder.name)
        built = index is None
        if index is None:
            index = HybridIndex.build(chunk_runbooks(runbooks), embedder)
            if not self.save(self._root / key, index):
                path = None
        return OpenedIndex(index, runbooks, key, built, time.perf_counter() - started, path)

    def load(self, path: Path, embedder_name: str) -> HybridIndex | None:
        """A stored index, or None if it is missing, unreadable or for another embedder."""
        try:
            manifest = json.loads((path / "manifest.json").read_text())
            if manifest.get("format") != INDEX_FORMAT or manifest["embedder"] != embedder_name:
                return None
            chunks = tuple(
                Chunk.model_validate(c) for c in json.loads((path / "chunks.json").read_text())
            )
            vectors = np.load(path / "vectors.npy", allow_pickle=False)
            bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        except (OSError, ValueError, KeyError, ValidationError) as exc:
            if path.exists():
                logger.warning(
                    "path=<%s>, error=<%s> | stored index unreadable, rebuilding", path, exc
                )
            return None
        if len(chunks) != len(vectors):
            return None
        return HybridIndex(chunks, bm25, vectors, embedder_name)

    def save(self, path: Path, index: HybridIndex) -> bool:
        """Write an index atomically (temp folder, then rename) and drop older keys.

        Returns:
            False if the folder is not writable (the index then lives in memory only).
        """
        staging: Path | None = None
        try:
            self._root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self._root))
            _write(staging, index)
            if path.exists():
                shutil.rmtree(path)
            staging.rename(path)
        except OSError as exc:
            logger.warning(
                "path=<%s>, error=<%s> | cannot save the index, keeping it in memory", path, exc
            )
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            return False
        for other in self._root.iterdir():
            if other != path and other.is_dir() and not other.name.startswith(".staging-"):
                shutil.rmtree(other, ignore_errors=True)
        return True


def _write(folder: Path, index: HybridIndex) -> None:
    (folder / "chunks.json").write_text(
        json.dumps([c.model_dump(mode="json") for c in index.chunks])
    )
    np.save(folder / "vectors.npy", index.vectors, allow_pickle=False)
    index.bm25.save(str(folder / "bm25"), show_progress=False)
    manifest = {
        "format": INDEX_FORMAT,
        "embedder": index.embedder_name,
        "chunks": len(index.chunks),
        "runbooks": len({c.runbook_id for c in index.chunks}),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
