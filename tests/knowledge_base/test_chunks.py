"""Chunking runbooks by section, the lexical tokeniser, and filter checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from healer.catalog import RUNBOOKS_DIR
from healer.errors import ToolInputError
from knowledge_base.chunks import HEAD_SECTION, check_filters, chunk_runbook
from knowledge_base.runbooks import load_runbooks, parse_runbook
from knowledge_base.text import matching_lines, tokenize

RUNBOOK = """---
id: disk-full-test
title: Disk fills with test files
category: disk_full
symptoms:
  metrics: ["CWAgent:disk_used_percent"]
  logs: ["No space left on device"]
  changes: ["CreateVolume"]
actions:
  - action: clear_disk_space
    params: {paths: ["/tmp"]}
  - action: none
    decision: escalate
---

# Disk fills with test files

Scratch files pile up.

## Confirm
The disk climbs.

## Fix
Clear it.
"""


@pytest.fixture
def runbook_path(tmp_path: Path) -> Path:
    path = tmp_path / "disk-full-test.md"
    path.write_text(RUNBOOK)
    return path


def test_the_first_chunk_carries_title_category_symptoms_and_summary(runbook_path: Path) -> None:
    head, *_ = chunk_runbook(parse_runbook(runbook_path))

    assert head.section == HEAD_SECTION
    for expected in (
        "Disk fills with test files",
        "disk_full",
        "CWAgent:disk_used_percent",
        "No space left on device",
        "CreateVolume",
        "Scratch files pile up.",
    ):
        assert expected in head.text
    assert "# Disk fills" not in head.text


def test_each_section_is_a_chunk_with_the_runbook_metadata(runbook_path: Path) -> None:
    chunks = chunk_runbook(parse_runbook(runbook_path))

    assert [c.section for c in chunks] == [HEAD_SECTION, "Confirm", "Fix"]
    assert chunks[2].text == "Clear it."
    assert {c.runbook_id for c in chunks} == {"disk-full-test"}
    assert all(c.category == "disk_full" for c in chunks)
    assert all(c.actions == ("clear_disk_space",) for c in chunks)
    assert all(c.source == str(runbook_path) for c in chunks)


def test_every_runbook_has_a_head_chunk_and_its_sections() -> None:
    for runbook in load_runbooks(RUNBOOKS_DIR):
        chunks = chunk_runbook(runbook)
        assert chunks[0].section == HEAD_SECTION
        assert len(chunks) == len(runbook.sections()), runbook.id


def test_chunk_filters_match_category_and_action(runbook_path: Path) -> None:
    chunk = chunk_runbook(parse_runbook(runbook_path))[0]

    assert chunk.matches(None)
    assert chunk.matches({"category": "disk_full", "action": "clear_disk_space"})
    assert not chunk.matches({"category": "cpu_saturation"})
    assert not chunk.matches({"action": "restart_service"})


def test_an_unknown_filter_is_refused_by_name() -> None:
    with pytest.raises(ToolInputError, match=r"filters\.severity"):
        check_filters({"severity": "high"})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("disk_used_percent", ["disk", "used", "percent"]),
        ("CPUUtilization 97%", ["cpu", "utilization", "97"]),
        ("HTTPCode_Target_5XX_Count", ["http", "code", "target", "5xx", "count"]),
        ("StatusCheckFailed_System=1", ["status", "check", "failed", "system", "1"]),
        ("x509: t3.medium EC2", ["x509", "t3", "medium", "ec2"]),
    ],
)
def test_tokenize_splits_metric_names_and_keeps_numbers(text: str, words: list[str]) -> None:
    assert tokenize(text) == words


def test_matching_lines_keeps_the_best_lines_in_the_order_they_are_written() -> None:
    text = "disk space is low\ntitle line\nNo space left on device\nunrelated\nleft"

    assert matching_lines(text, "no space left", limit=2) == [
        "disk space is low",
        "No space left on device",
    ]
