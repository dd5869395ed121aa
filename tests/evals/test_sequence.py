"""Sequence replay: trust earned, lost and earned again over incidents sharing one store."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.sequence import SEQUENCES_DIR, load_sequence, run_sequence
from healer.config import HealerSettings
from healer.errors import CaseError


@pytest.fixture
def settings(tmp_path: Path) -> HealerSettings:
    return HealerSettings(store_path=tmp_path / "healer.db", approvers=["U024BE7LH"])


def test_disk_full_is_promoted_after_its_successes_and_demoted_by_one_failure(
    settings: HealerSettings,
) -> None:
    run = run_sequence(SEQUENCES_DIR / "disk-full-earns-autopilot.yaml", settings)

    assert run.passed and run.audit_ok
    assert [(s.n, s.trust_change) for s in run.transitions] == [
        (6, "promoted"),
        (9, "demoted"),
        (12, "promoted"),
    ]
    decisions = [s.decision for s in run.steps]
    assert decisions == ["needs_approval"] * 6 + ["auto_heal"] * 3 + ["needs_approval"] * 3 + [
        "auto_heal"
    ]
    assert run.steps[8].trust_result == "not_recovered"  # the cleanup that freed nothing
    assert all(s.executed >= 1 for s in run.steps)  # every one ran, approved or on autopilot


def test_a_sequence_whose_decisions_differ_fails(settings: HealerSettings, tmp_path: Path) -> None:
    path = tmp_path / "no-earning.yaml"
    path.write_text(
        "id: no-earning\ntitle: autopilot from the start\n"
        "episodes:\n  - {case: dev-disk-full-web, expect: needs_approval}\n"
    )

    run = run_sequence(path, settings)

    assert not run.passed
    assert run.steps[0].decision == "auto_heal"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: bad\ntitle: t\nepisodes: []\n", "$.episodes"),
        ("id: bad\ntitle: t\nepisodes:\n  - {case: x, expect: maybe}\n", "$.episodes.0.expect"),
        ("id: other\ntitle: t\nepisodes:\n  - {case: x, expect: auto_heal}\n", "file name"),
    ],
)
def test_a_bad_sequence_file_is_named_with_its_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CaseError, match=message.replace(".", r"\.").replace("$", r"\$")):
        load_sequence(path)
