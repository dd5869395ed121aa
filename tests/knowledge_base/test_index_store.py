"""The persisted index: reused while the runbooks are unchanged, rebuilt when they change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from healer.catalog import RUNBOOKS_DIR
from knowledge_base.embeddings import WordLlamaEmbedder
from knowledge_base.hybrid import HybridRetriever
from knowledge_base.index_store import IndexStore

QUERY = "sshd: Failed password for invalid user admin from many addresses"


@pytest.fixture
def runbooks(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for name in ("disk-full-runaway-logs.md", "ssh-brute-force-escalate.md"):
        shutil.copy(RUNBOOKS_DIR / name, folder / name)
    return folder


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "kb")


def test_the_second_open_loads_the_saved_index(runbooks: Path, store: IndexStore) -> None:
    embedder = WordLlamaEmbedder()
    first = store.open(runbooks, embedder)
    second = store.open(runbooks, embedder)

    assert first.built and not second.built
    assert second.key == first.key and second.path == first.path
    assert second.index.chunks == first.index.chunks
    loaded = HybridRetriever(second.index, embedder).search(QUERY, k=2)
    built = HybridRetriever(first.index, embedder).search(QUERY, k=2)
    assert loaded == built
    assert loaded[0].runbook_id == "ssh-brute-force-escalate"


def test_editing_a_runbook_rebuilds_and_drops_the_old_index(
    runbooks: Path, store: IndexStore, tmp_path: Path
) -> None:
    embedder = WordLlamaEmbedder()
    first = store.open(runbooks, embedder)
    path = runbooks / "ssh-brute-force-escalate.md"
    path.write_text(path.read_text() + "\n## Notes\nfail2ban bans addresses\n")

    second = store.open(runbooks, embedder)

    assert second.built and second.key != first.key
    assert "Notes" in {c.section for c in second.index.chunks}
    assert [p.name for p in (tmp_path / "kb").iterdir()] == [second.key]


def test_adding_a_runbook_rebuilds(runbooks: Path, store: IndexStore) -> None:
    embedder = WordLlamaEmbedder()
    store.open(runbooks, embedder)
    shutil.copy(RUNBOOKS_DIR / "dns-resolution-failure.md", runbooks)

    opened = store.open(runbooks, embedder)

    assert opened.built
    assert "dns-resolution-failure" in {c.runbook_id for c in opened.index.chunks}


def test_rebuild_forces_a_build(runbooks: Path, store: IndexStore) -> None:
    embedder = WordLlamaEmbedder()
    store.open(runbooks, embedder)

    assert store.open(runbooks, embedder, rebuild=True).built


def test_a_damaged_index_is_rebuilt(runbooks: Path, store: IndexStore) -> None:
    embedder = WordLlamaEmbedder()
    first = store.open(runbooks, embedder)
    assert first.path is not None
    (first.path / "chunks.json").write_text("{not json")

    again = store.open(runbooks, embedder)

    assert again.built
    assert HybridRetriever(again.index, embedder).search(QUERY, k=1)


def test_an_unwritable_folder_keeps_the_index_in_memory(runbooks: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    opened = IndexStore(blocker / "kb").open(runbooks, WordLlamaEmbedder())

    assert opened.built and opened.path is None
    assert HybridRetriever(opened.index, WordLlamaEmbedder()).search(QUERY, k=1)
