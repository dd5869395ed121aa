"""A small in-process BM25 index over runbook sections."""

from __future__ import annotations

import math
import re
from collections import Counter

from knowledge_base.retriever import RunbookHit
from knowledge_base.runbooks import Runbook

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("_", " "))


def chunk(runbook: Runbook) -> list[tuple[str, str]]:
    """(section, text) chunks; the first chunk carries the title and the symptoms."""
    symptoms = " ".join(runbook.symptoms.metrics + runbook.symptoms.logs + runbook.symptoms.changes)
    head = f"{runbook.title}\n{runbook.category.value}\nsymptoms: {symptoms}"
    sections = runbook.sections()
    chunks = [("Symptoms", head + "\n" + sections.pop("Summary", ""))]
    chunks += list(sections.items())
    return chunks


class LexicalRetriever:
    """BM25 over runbook sections; results are one hit per runbook (its best section)."""

    def __init__(self, runbooks: list[Runbook], k1: float = 1.2, b: float = 0.75) -> None:
        self._runbooks = {r.id: r for r in runbooks}
        self._docs = [(r.id, section, text) for r in runbooks for section, text in chunk(r)]
        self._tokens = [Counter(tokenize(text)) for _, _, text in self._docs]
        self._lengths = [sum(t.values()) for t in self._tokens]
        self._avg = sum(self._lengths) / max(1, len(self._lengths))
        df = Counter(term for tokens in self._tokens for term in tokens)
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._k1, self._b = k1, b

    def search(
        self, query: str, k: int = 5, filters: dict[str, str] | None = None
    ) -> list[RunbookHit]:
        terms = tokenize(query)
        best: dict[str, RunbookHit] = {}
        for (runbook_id, section, text), tokens, length in zip(
            self._docs, self._tokens, self._lengths, strict=True
        ):
            runbook = self._runbooks[runbook_id]
            if filters and not _matches(runbook, filters):
                continue
            score = sum(
                self._idf.get(t, 0)
                * tokens[t]
                * (self._k1 + 1)
                / (tokens[t] + self._k1 * (1 - self._b + self._b * length / self._avg))
                for t in terms
                if t in tokens
            )
            if score > 0 and (runbook_id not in best or score > best[runbook_id].score):
                best[runbook_id] = RunbookHit(
                    runbook_id=runbook_id,
                    section=section,
                    score=round(score, 4),
                    text=text,
                    source=runbook.path,
                )
        return sorted(best.values(), key=lambda h: -h.score)[:k]

    def runbook(self, runbook_id: str) -> Runbook | None:
        return self._runbooks.get(runbook_id)


def _matches(runbook: Runbook, filters: dict[str, str]) -> bool:
    if "category" in filters and runbook.category.value != filters["category"]:
        return False
    if "action" in filters:
        return any(a.action and a.action.value == filters["action"] for a in runbook.actions)
    return True
