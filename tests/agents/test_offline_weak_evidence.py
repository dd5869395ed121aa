"""Evidence too weak for a fix may still name the category, when it points at one plainly."""

from __future__ import annotations

from typing import Any

from agents.offline.evidence import Evidence
from agents.offline.reasoning import diagnose


def _runbook(runbook_id: str, category: str) -> dict[str, Any]:
    return {
        "runbook_id": runbook_id,
        "category": category,
        "title": runbook_id,
        "symptoms": {"metrics": ["CWAgent:disk_used_percent"]},
        "actions": [{"action": "clear_disk_space", "params": {}}],
    }


def _diagnose(*runbooks: dict[str, Any]) -> dict[str, Any]:
    evidence = Evidence()
    evidence.alarms = [
        {"name": "disk", "state": "ALARM", "namespace": "CWAgent", "metric": "disk_used_percent"}
    ]
    evidence.runbooks = list(runbooks)
    return diagnose(evidence)


def test_an_alarmed_symptom_of_one_category_names_it_and_pages() -> None:
    diagnosis = _diagnose(_runbook("logs", "disk_full"), _runbook("data", "disk_full"))
    assert diagnosis["category"] == "disk_full"
    assert diagnosis["proposed_action"] is None and diagnosis["recommendation"] == "escalate"
    assert diagnosis["summary"].startswith("Likely disk full, cause not settled")


def test_a_symptom_two_categories_share_stays_unknown() -> None:
    diagnosis = _diagnose(_runbook("logs", "disk_full"), _runbook("leak", "memory_exhaustion"))
    assert diagnosis["category"] == "unknown" and diagnosis["recommendation"] == "escalate"
