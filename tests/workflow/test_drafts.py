"""Runbook drafts from human fixes where no runbook fitted; never read by the knowledge base."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from healer.cases import load_case
from healer.config import HealerSettings
from healer.domain import Outcome
from healer.errors import UserError
from healer.replay import replay_case
from healer.store import SqliteStore
from healer.trust import Mode
from healer.workflow.manual import close_by_human
from knowledge_base.drafts import list_drafts
from knowledge_base.runbooks import load_runbooks

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = ROOT / "evals" / "cases" / "unknown-cause.yaml"
DISK = ROOT / "evals" / "cases" / "dev-disk-full-web.yaml"
NOW = datetime(2026, 12, 8, 3, tzinfo=UTC)


def test_an_escalated_incident_takes_the_humans_fix_once_and_leaves_a_draft(
    store: SqliteStore, settings: HealerSettings, tmp_path: Path
) -> None:
    [incident] = replay_case(load_case(UNKNOWN), UNKNOWN, store, settings).incidents
    assert incident.outcome is Outcome.ESCALATED
    drafts = tmp_path / "drafts"

    recorded = close_by_human(
        store, incident, "U1", "", NOW, ("restart_service", None), drafts_dir=drafts
    )

    assert recorded is not None and recorded.agreed is None and recorded.draft
    [draft] = list_drafts(drafts)
    assert (draft.incident, draft.fixed_by) == (incident.id, "restart_service")
    text = Path(draft.path).read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["draft"] is True and meta["actions"] == [
        {"action": "restart_service", "params": {}}
    ]
    assert "```text" in text and "not a runbook yet" in text
    kinds = [e.kind for e in store.events(incident.id)]
    assert kinds.count("human_fix_recorded") == 1 and kinds.count("closed") == 1
    with pytest.raises(UserError, match="closed already"):
        close_by_human(store, incident, "U1", "", NOW, ("restart_service", None), drafts_dir=drafts)


def test_a_shadow_recommendation_the_human_did_not_follow_leaves_a_draft(
    store: SqliteStore, settings: HealerSettings, tmp_path: Path
) -> None:
    shadow = settings.model_copy(update={"autonomy_default": Mode.SHADOW})
    [incident] = replay_case(load_case(DISK), DISK, store, shadow).incidents
    agreed_dir, other_dir = tmp_path / "a", tmp_path / "b"

    recorded = close_by_human(
        store,
        incident,
        "U1",
        "",
        NOW,
        ("resize_instance", "i-0a1b2c3d4e5f60001"),
        drafts_dir=other_dir,
    )

    assert recorded is not None and recorded.agreed is False and recorded.draft
    [incident2] = replay_case(load_case(DISK), DISK, store, shadow).incidents
    same = close_by_human(
        store,
        incident2,
        "U1",
        "",
        NOW,
        ("clear_disk_space", "i-0a1b2c3d4e5f60001"),
        drafts_dir=agreed_dir,
    )
    assert same is not None and same.agreed is True and same.draft is None


def test_the_knowledge_base_never_reads_a_draft(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(ROOT / "runbooks", runbooks)
    (runbooks / "drafts").mkdir(exist_ok=True)
    shutil.copy(runbooks / "disk-full-runaway-logs.md", runbooks / "drafts" / "draft-x.md")

    ids = [r.id for r in load_runbooks(runbooks)]

    assert "disk-full-runaway-logs" in ids and len(ids) == len(set(ids))
    assert len(ids) == len(list((ROOT / "runbooks").glob("*.md")))
