"""The signature library classifies lines by the failure mode they report, and leaves alone the
lines that only look alike."""

from __future__ import annotations

import pytest

from knowledge_base.signatures import default_signatures

LIBRARY = default_signatures()


@pytest.mark.parametrize(
    ("line", "signature"),
    [
        (
            "postgres[88]: LOG:  duration: 8123.441 ms  statement: SELECT * FROM orders",
            "slow_queries",
        ),
        ("stress-ng[4121]: info:  [4121] dispatching hogs: 4 cpu", "fault_injection"),
        (
            "fis: experiment EXP1 action aws:fis:inject-api-throttle-error started",
            "fault_injection",
        ),
    ],
)
def test_a_line_reports_its_failure_mode(line: str, signature: str) -> None:
    assert signature in LIBRARY.classify(line)


@pytest.mark.parametrize(
    ("line", "signature"),
    [
        (
            "REPORT RequestId: 3f2a Duration: 102.35 ms Billed Duration: 103 ms Memory Size: 128",
            "slow_queries",
        ),
        ("api[311]: INFO request took 12 ms", "slow_queries"),
        ("ops: stress on the team this week is high", "fault_injection"),
    ],
)
def test_a_line_that_only_looks_alike_does_not(line: str, signature: str) -> None:
    assert signature not in LIBRARY.classify(line)
