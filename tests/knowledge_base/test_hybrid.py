"""The local hybrid retriever over the real runbooks: ranking, sections, filters, modes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from healer.catalog import RUNBOOKS_DIR
from healer.errors import ToolInputError
from knowledge_base.chunks import chunk_runbooks
from knowledge_base.embeddings import WordLlamaEmbedder
from knowledge_base.hybrid import HybridIndex, HybridRetriever
from knowledge_base.runbooks import load_runbooks


@pytest.fixture(scope="module")
def retriever() -> HybridRetriever:
    embedder = WordLlamaEmbedder()
    index = HybridIndex.build(chunk_runbooks(load_runbooks(RUNBOOKS_DIR)), embedder)
    return HybridRetriever(index, embedder)


def test_symptoms_find_their_runbook_first_with_one_hit_per_runbook(
    retriever: HybridRetriever,
) -> None:
    hits = retriever.search(
        "root volume 97% full on web-1, app: write failed: No space left on device, "
        "logrotate error, /var/log/app keeps growing",
        k=5,
    )

    assert hits[0].runbook_id == "disk-full-runaway-logs"
    assert len({h.runbook_id for h in hits}) == len(hits) == 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].source.endswith("disk-full-runaway-logs.md")
    assert hits[0].text


def test_a_hit_names_the_section_that_matched(retriever: HybridRetriever) -> None:
    [hit] = retriever.search("how to roll back after cleaning rotated logs", k=1)

    assert hit.section in {"Roll back", "Fix", "Symptoms", "Confirm"}
    assert hit.text in {c.text for c in retriever.chunks if c.runbook_id == hit.runbook_id}


def test_category_filter_keeps_only_that_category(retriever: HybridRetriever) -> None:
    hits = retriever.search("No space left on device", k=10, filters={"category": "disk_full"})

    assert hits
    runbooks = {r.id: r for r in load_runbooks(RUNBOOKS_DIR)}
    assert {runbooks[h.runbook_id].category.value for h in hits} == {"disk_full"}


def test_action_filter_keeps_runbooks_that_prescribe_it(retriever: HybridRetriever) -> None:
    hits = retriever.search("instance unhealthy", k=10, filters={"action": "replace_instance"})

    assert {h.runbook_id for h in hits} <= {
        "instance-status-check-failed-replace",
        "hardware-errors-replace",
        "network-packet-loss-replace",
    }
    assert hits


def test_filters_that_match_nothing_return_no_hits(retriever: HybridRetriever) -> None:
    filters = {"category": "disk_full", "action": "scale_out"}

    assert retriever.search("disk full", filters=filters) == []


def test_an_unknown_filter_is_a_tool_input_error(retriever: HybridRetriever) -> None:
    with pytest.raises(ToolInputError, match="severity"):
        retriever.search("disk full", filters={"severity": "high"})


def test_each_signal_alone_still_ranks(retriever: HybridRetriever) -> None:
    query = "kernel: Out of memory: Killed process 2314 (java), mem_used_percent climbing"
    for mode in ("bm25", "embeddings"):
        hits = retriever.with_mode(mode).search(query, k=3)
        assert "memory-leak-restart-service" in [h.runbook_id for h in hits], mode


def test_a_query_without_known_words_still_gets_semantic_hits(retriever: HybridRetriever) -> None:
    assert retriever.with_mode("bm25").search("zzqx", k=3) == []
    assert len(retriever.search("zzqx", k=3)) <= 3


def test_the_local_backend_runs_without_torch_network_or_logging_side_effects() -> None:
    script = textwrap.dedent(
        """
        import logging, socket, sys
        def refuse(*args, **kwargs):
            raise OSError("network used")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from healer.catalog import RUNBOOKS_DIR
        from knowledge_base.chunks import chunk_runbooks
        from knowledge_base.embeddings import WordLlamaEmbedder
        from knowledge_base.hybrid import HybridIndex, HybridRetriever
        from knowledge_base.runbooks import load_runbooks
        embedder = WordLlamaEmbedder()
        index = HybridIndex.build(chunk_runbooks(load_runbooks(RUNBOOKS_DIR)), embedder)
        hits = HybridRetriever(index, embedder).search("disk_used_percent 98%", k=3)
        assert hits, "no hits"
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "transformers"})
        print("heavy:", heavy)
        print("root log handlers:", len(logging.getLogger().handlers))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout
    assert "root log handlers: 0" in result.stdout
