"""Runbooks cut into searchable chunks: one per `## ` section, plus a symptoms head."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from healer.errors import ToolInputError
from knowledge_base.runbooks import Runbook
from knowledge_base.signatures import default_signatures

HEAD_SECTION = "Symptoms"


class Chunk(BaseModel):
    """One searchable piece of a runbook, with the metadata filters look at."""

    model_config = ConfigDict(frozen=True)

    runbook_id: str
    section: str
    text: str
    category: str
    actions: tuple[str, ...]
    source: str

    def matches(self, filters: dict[str, str] | None) -> bool:
        """Whether the chunk passes metadata filters (`category`, `action`; all must hold)."""
        if not filters:
            return True
        if "category" in filters and self.category != filters["category"]:
            return False
        return "action" not in filters or filters["action"] in self.actions


FILTER_KEYS = ("category", "action")


def check_filters(filters: dict[str, str] | None) -> None:
    """Reject filter keys other than `category` and `action`, naming the bad one.

    Raises:
        ToolInputError: a filter key is unknown.
    """
    for key in filters or {}:
        if key not in FILTER_KEYS:
            raise ToolInputError(f"filters.{key}: unknown filter; use one of {FILTER_KEYS}")


def chunk_runbook(runbook: Runbook) -> list[Chunk]:
    """Chunks of one runbook: first title, category, symptoms and summary, then each section.

    Args:
        runbook: a parsed runbook.

    Returns:
        The head chunk (section `Symptoms`) followed by one chunk per `## ` section.
    """
    symptoms = runbook.symptoms
    sections = runbook.sections()
    summary = "\n".join(
        line for line in sections.pop("Summary", "").splitlines() if not line.startswith("# ")
    )
    head = "\n".join(
        [
            runbook.title,
            f"category: {runbook.category.value}",
            "metrics: " + ", ".join(symptoms.metrics),
            "signs: " + "; ".join(_signature_titles(symptoms.signatures)),
            "logs: " + "; ".join(symptoms.logs),
            "changes: " + ", ".join(symptoms.changes),
            summary,
        ]
    ).strip()
    actions = tuple(a.action.value for a in runbook.actions if a.action is not None)
    texts = [(HEAD_SECTION, head), *sections.items()]
    return [
        Chunk(
            runbook_id=runbook.id,
            section=section,
            text=text,
            category=runbook.category.value,
            actions=actions,
            source=runbook.path,
        )
        for section, text in texts
        if text
    ]


def _signature_titles(ids: list[str]) -> list[str]:
    library = default_signatures().signatures
    return [library[i].title for i in ids if i in library]


def chunk_runbooks(runbooks: list[Runbook]) -> list[Chunk]:
    """Every chunk of every runbook, in runbook order."""
    return [c for runbook in runbooks for c in chunk_runbook(runbook)]
