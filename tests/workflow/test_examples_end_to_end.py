"""Both example cases replay end to end with the offline engine, scored against their key."""

from __future__ import annotations

from pathlib import Path

import pytest

from healer.cases import load_answer_key, load_case
from healer.config import HealerSettings
from healer.domain import Outcome
from healer.replay import replay_case
from healer.store import SqliteStore

CASES = Path(__file__).resolve().parents[2] / "evals" / "cases"


def _within(value: float, bounds: dict[str, float]) -> bool:
    return bounds.get("min", float("-inf")) <= value <= bounds.get("max", float("inf"))


@pytest.mark.parametrize("case_id", ["dev-disk-full-web", "dev-traffic-surge-api"])
def test_example_case_meets_its_answer_key(
    case_id: str, settings: HealerSettings, store: SqliteStore
) -> None:
    path = CASES / f"{case_id}.yaml"
    result = replay_case(load_case(path), path, store, settings)
    expected = load_answer_key(path)["expected"]

    assert len(result.incidents) == 1, "all alarms of one cause make one incident"
    incident = result.incidents[0]
    assert incident.plan is not None and incident.governance is not None
    diagnosis = incident.plan.diagnosis
    assert diagnosis.category == expected["root_cause"]["category"]
    assert set(expected["root_cause"]["resources"]) <= set(diagnosis.resources)
    text = (diagnosis.summary + " ".join(diagnosis.evidence)).lower()
    for phrase in expected["root_cause"]["must_mention"]:
        assert phrase.lower() in text

    action = incident.plan.action
    remediation = expected["remediation"]
    assert action is not None
    assert action.action == remediation["action"]
    assert action.target == remediation["target"]
    for name, want in (remediation.get("params") or {}).items():
        if isinstance(want, dict):
            assert _within(action.params[name], want)
        else:
            assert action.params[name] == want

    governance = expected["governance"]
    assert incident.governance.decision == governance["decision"]
    assert incident.governance.risk == governance["risk"]
    assert incident.plan.cost is not None and incident.plan.cost.usd is not None
    assert _within(incident.plan.cost.usd, governance["cost_usd"])
    assert incident.outcome == Outcome(expected["outcome"])
    assert store.verify().ok


def test_traffic_surge_shows_its_arithmetic_and_asks_the_case_approver(
    settings: HealerSettings, store: SqliteStore
) -> None:
    path = CASES / "dev-traffic-surge-api.yaml"
    result = replay_case(load_case(path), path, store, settings)
    incident = result.incidents[0]
    assert incident.plan is not None and incident.plan.cost is not None
    assert incident.plan.cost.breakdown == "10 × m5.xlarge × $0.192/h × 24 h = $46.08"
    assert [r.status for r in result.ingests] == ["opened", "correlated"]
    kinds = [e.kind for e in store.events(incident.id)]
    assert (
        kinds.index("approval_requested") < kinds.index("approved") < kinds.index("action_started")
    )
    approved = next(e for e in store.events(incident.id) if e.kind == "approved")
    assert approved.actor == "human:U024BE7LH"


def test_disk_full_runs_on_autopilot_without_a_human(
    settings: HealerSettings, store: SqliteStore
) -> None:
    path = CASES / "dev-disk-full-web.yaml"
    result = replay_case(load_case(path), path, store, settings)
    events = store.events(result.incidents[0].id)
    kinds = [e.kind for e in events]
    assert "approval_requested" not in kinds
    [approved] = [e for e in events if e.kind == "approved"]
    assert approved.actor == "guardrail" and approved.data["automatic"] is True
    assert approved.data["action"] == "clear_disk_space" and approved.data["cost"]["usd"] == 0
    assert kinds[-6:] == [
        "approval_consumed",
        "action_started",
        "action_succeeded",
        "verified",
        "trust_outcome",
        "closed",
    ]
    assert result.human_decisions == []
