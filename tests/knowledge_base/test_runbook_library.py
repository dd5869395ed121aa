"""The runbook library: every failure category and every catalog action is covered, each
runbook has what an on-call human needs and says where its knowledge comes from."""

from __future__ import annotations

from healer.catalog import RUNBOOKS_DIR
from healer.domain import ActionId, Category, Decision
from knowledge_base.runbooks import load_runbooks

SECTIONS = {"Confirm", "Fix", "Roll back", "Escalate instead when"}


def test_every_category_but_no_fault_and_unknown_has_a_runbook() -> None:
    covered = {r.category for r in load_runbooks(RUNBOOKS_DIR)}
    assert set(Category) - {Category.NO_FAULT, Category.UNKNOWN} <= covered
    assert len(load_runbooks(RUNBOOKS_DIR)) >= 24


def test_every_catalog_action_is_prescribed_somewhere_and_some_runbooks_escalate() -> None:
    runbooks = load_runbooks(RUNBOOKS_DIR)
    actions = {a.action for r in runbooks for a in r.actions if a.action}
    assert actions == set(ActionId)
    escalate_first = [r.id for r in runbooks if r.actions[0].decision == Decision.ESCALATE]
    assert {
        "ssh-brute-force-escalate",
        "aws-dependency-outage-escalate",
        "service-quota-exceeded-escalate",
    } <= set(escalate_first)


def test_each_runbook_has_the_sections_symptoms_verify_window_and_sources() -> None:
    for runbook in load_runbooks(RUNBOOKS_DIR):
        assert set(runbook.sections()) >= SECTIONS, runbook.id
        assert runbook.symptoms.metrics and runbook.symptoms.logs, runbook.id
        assert runbook.verify.get("within_seconds", 0) > 0, runbook.id
        assert runbook.sources, runbook.id
        assert all(a.when for a in runbook.actions), runbook.id
