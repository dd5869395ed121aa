"""The runbook knowledge the agents search (loaded once per process per folder)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from knowledge_base.lexical import LexicalRetriever
from knowledge_base.runbooks import Runbook, load_runbooks


@cache
def runbook_knowledge(directory: Path) -> tuple[LexicalRetriever, dict[str, Runbook]]:
    """The retriever over a runbook folder, and the runbooks by id."""
    runbooks = load_runbooks(directory)
    return LexicalRetriever(runbooks), {r.id: r for r in runbooks}
