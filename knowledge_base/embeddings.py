"""Static text embeddings that run on numpy alone (no torch, no network)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from healer.errors import ConfigError

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length vectors; `name` keys persisted indexes."""

    @property
    def name(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text."""
        ...


def normalise(vectors: npt.NDArray[Any]) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


@cache
def _wordllama(config: str, dim: int) -> Any:
    """The WordLlama model whose weights ship inside its wheel, loaded once per process.

    Its loader looks for the tokenizer outside the package and would then download it, so the
    package folder is passed as the cache and downloads are disabled. Importing it calls
    `logging.basicConfig(level=INFO)`; the root logger is restored afterwards.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama
        from wordllama import WordLlama
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
    package = Path(wordllama.__file__).resolve().parent
    try:
        return WordLlama.load(config=config, dim=dim, cache_dir=package, disable_download=True)
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"wordllama {config}/{dim} is not installed with its weights") from exc


class WordLlamaEmbedder:
    """WordLlama static embeddings (the l2_supercat token table, average pooled).

    Args:
        config: the WordLlama configuration whose weights are in the wheel.
        dim: embedding size (256 ships in the wheel).
    """

    def __init__(self, config: str = "l2_supercat", dim: int = 256) -> None:
        self._config = config
        self._dim = dim

    @property
    def name(self) -> str:
        return f"wordllama-{self._config}-{self._dim}"

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        model = _wordllama(self._config, self._dim)
        return normalise(model.embed(list(texts), norm=False))
