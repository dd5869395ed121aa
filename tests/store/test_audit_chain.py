"""Properties of the audit log's HMAC chain, through the SQLite store and as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from healer.domain import AUDIT_KINDS, AuditEvent
from healer.store import SqliteStore
from healer.store.chain import build_event, verify_log

KEY = b"k" * 32

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.datetimes(timezones=st.just(UTC)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
appends = st.lists(
    st.tuples(
        st.sampled_from(["inc-1", "inc-2", "inc-3"]),
        st.sampled_from(AUDIT_KINDS),
        st.text(min_size=1, max_size=20),
        st.dictionaries(st.text(max_size=10), json_values, max_size=4),
        st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(appends)
def test_any_sequence_of_appends_verifies_and_reads_back_unchanged(
    steps: list[tuple[str, str, str, dict[str, Any], datetime]],
) -> None:
    with SqliteStore(":memory:") as store:
        appended = [store.append(i, kind, actor, data, at) for i, kind, actor, data, at in steps]

        report = store.verify()

        assert report.ok, report.problems
        assert report.events_checked == len(steps)
        stored = [e for incident in store.incident_ids() for e in store.events(incident)]
        assert sorted(stored, key=lambda e: e.gseq) == appended
        assert [e.gseq for e in appended] == list(range(1, len(steps) + 1))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=8).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n - 1), json_values)
    )
)
def test_changing_any_event_is_detected_at_that_event_and_only_the_key_verifies(
    case: tuple[int, int, Any],
) -> None:
    length, victim, new_value = case
    chain: list[AuditEvent] = []
    for n in range(length):
        previous = chain[-1] if chain else None
        chain.append(
            build_event(
                KEY,
                f"inc-{n % 2}",
                "diagnosed",
                "system",
                {"n": n},
                datetime(2025, 1, 1, tzinfo=UTC),
                prev_gseq=previous.gseq if previous else 0,
                prev_seq=n // 2,
                prev_hash=previous.hash if previous else "0" * 64,
            )
        )
    chain[victim] = chain[victim].model_copy(update={"data": {"n": victim, "x": new_value}})

    problems = verify_log(KEY, chain)

    assert [(p.gseq, p.problem) for p in problems] == [
        (victim + 1, "hash mismatch: event was altered")
    ]
    assert verify_log(b"w" * 32, chain)[0].gseq == 1  # another key: nothing verifies
