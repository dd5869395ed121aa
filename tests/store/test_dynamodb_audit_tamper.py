"""Tampering with the audit log in DynamoDB is detected and named, as in SQLite.

Each test tampers as an intruder with write access to the table (and to the digests) but
without the audit key would: through a table handle of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from healer.errors import ToolUnavailable
from healer.store import AuditReport, LocalDigestDirectory, StaticAuditKey
from healer.store.chain import event_hash
from healer.store.dynamodb import DynamoStore

KEY = StaticAuditKey(b"k" * 32)
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
INC_1 = ["incident_opened", "diagnosed", "cost_estimated", "governance_decided", "closed"]
INC_2 = ["incident_opened", "diagnosed", "approval_requested", "approved"]
LOG = "AUDIT#LOG"


def slot(gseq: int) -> dict[str, str]:
    return {"pk": LOG, "sk": f"{gseq:020d}"}


class FlakySink(LocalDigestDirectory):
    """A digest directory that refuses writes while `down`."""

    down = False

    def write(self, name: str, body: bytes) -> None:
        if self.down:
            raise ToolUnavailable("s3: unreachable")
        super().write(name, body)


Opened = tuple[DynamoStore, Any, FlakySink]


@pytest.fixture
def open_log(new_dynamodb_table: Callable[[str], tuple[Any, str]], tmp_path: Path) -> Opened:
    """inc-1 (log #1-#5, closed) then inc-2 (log #6-#9, open); digests at #1, #4, #5, #8."""
    resource, name = new_dynamodb_table("audit")
    sink = FlakySink(tmp_path / "digests")
    store = DynamoStore(resource, name, audit_key=KEY, digests=sink, digest_every=4)
    for incident_id, kinds in (("inc-1", INC_1), ("inc-2", INC_2)):
        for n, kind in enumerate(kinds):
            store.append(incident_id, kind, "system", {"n": n}, at=T0 + timedelta(seconds=n))
    return store, resource.Table(name), sink


def lines(report: AuditReport) -> list[str]:
    return [str(problem) for problem in report.problems]


def reported(report: AuditReport, text: str) -> bool:
    return any(text in line for line in lines(report))


def test_an_untouched_log_verifies_with_its_digests(open_log: Opened) -> None:
    store, _, sink = open_log

    report = store.verify()

    assert report.ok, lines(report)
    assert (report.incidents_checked, report.events_checked, report.digests_checked) == (2, 9, 4)
    heads = [json.loads(sink.read(name) or b"")["head_gseq"] for name in sink.names()]
    assert heads == [1, 4, 5, 8]
    assert store.incident_ids() == ["inc-1", "inc-2"]


def test_an_edited_event_is_named(open_log: Opened) -> None:
    store, table, _ = open_log
    table.update_item(Key=slot(3), UpdateExpression="SET #d = :d", **_set("#d", "data", '{"n":9}'))

    assert "inc-1 #3 (cost_estimated), log #3: hash mismatch: event was altered" in lines(
        store.verify()
    )


def test_a_deleted_middle_event_is_named(open_log: Opened) -> None:
    store, table, _ = open_log
    table.delete_item(Key=slot(7))

    report = store.verify()

    assert "log #7: 1 event missing (deleted)" in lines(report)
    assert "inc-2 #2 (?): sequence gap: event missing" in lines(report)


def test_a_deleted_tail_stays_a_gap_after_the_next_append(open_log: Opened) -> None:
    store, table, _ = open_log
    table.delete_item(Key=slot(9))
    assert reported(store.verify(), "tail truncated: the signed head is at #9, the log ends at #8")

    appended = store.append("inc-2", "closed", "system", {})

    assert appended.gseq == 10  # after the signed head, not over the deleted event
    assert "log #9: 1 event missing (deleted)" in lines(store.verify())


def test_an_unreadable_event_is_reported_not_fatal(open_log: Opened) -> None:
    store, table, _ = open_log
    table.update_item(Key=slot(2), UpdateExpression="SET #a = :a", **_set("#a", "at", "yesterday"))

    assert "inc-1 #2 (diagnosed), log #2: hash mismatch: event was altered" in lines(store.verify())


def test_a_rechained_log_is_detected(open_log: Opened) -> None:
    store, table, _ = open_log
    wrong = b"w" * 32
    prev = table.get_item(Key=slot(2))["Item"]["hash"]
    for gseq in range(3, 10):
        item = table.get_item(Key=slot(gseq))["Item"]
        data = {"n": 99} if gseq == 3 else json.loads(item["data"])
        fields = (gseq, item["incident_id"], int(item["seq"]), item["kind"], item["actor"])
        digest = event_hash(wrong, *fields, datetime.fromisoformat(item["at"]), data, prev)
        table.put_item(Item={**item, "data": json.dumps(data), "prev_hash": prev, "hash": digest})
        prev = digest

    report = store.verify()

    assert reported(report, "log #4: does not match digest 000002: the log was re-chained")
    assert reported(report, "does not match the signed head")


def test_a_deleted_head_and_digest_are_detected(open_log: Opened) -> None:
    store, table, sink = open_log
    table.delete_item(Key={"pk": "AUDIT#HEAD", "sk": "HEAD"})
    (sink.path / f"{sink.names()[1]}.json").unlink()

    report = store.verify()

    assert reported(report, "signed head missing")
    assert "audit log: digest 000002 missing (deleted)" in lines(report)


def test_an_edited_head_does_not_stop_the_log(open_log: Opened) -> None:
    store, table, _ = open_log
    table.update_item(
        Key={"pk": "AUDIT#HEAD", "sk": "HEAD"},
        UpdateExpression="SET gseq = :g",
        ExpressionAttributeValues={":g": 10**9},
    )
    assert reported(store.verify(), "signed head invalid")

    assert store.append("inc-2", "closed", "system", {}).gseq == 10


def test_a_digest_the_sink_refused_is_pending_then_uploaded(open_log: Opened) -> None:
    store, _, sink = open_log
    sink.down = True
    store.append("inc-2", "closed", "system", {})  # #10: a digest is due, the sink is down

    assert [e.kind for e in store.events("inc-2")][-1] == "closed"  # the event is not lost
    report = store.verify()
    assert reported(report, "is in the store but not yet in the sink")

    sink.down = False
    assert store.upload_pending_digests() == 1
    assert store.verify().ok
    assert len(sink.names()) == 5


def _set(name: str, attribute: str, value: Any) -> dict[str, Any]:
    return {
        "ExpressionAttributeNames": {name: attribute},
        "ExpressionAttributeValues": {":" + name[1:]: value},
    }


def pointer(incident_id: str, seq: int) -> dict[str, str]:
    return {"pk": f"AUDIT#INCIDENT#{incident_id}", "sk": f"{seq:020d}"}


def test_a_deleted_index_entry_is_named_even_after_its_number_is_reused(
    open_log: Opened,
) -> None:
    store, table, _ = open_log
    table.delete_item(Key=pointer("inc-2", 4))
    assert "inc-2 #4 (approved), log #9: missing from the incident's index (edited)" in lines(
        store.verify()
    )

    store.append("inc-2", "closed", "system", {})  # takes #4 again: the index says it is free

    report = store.verify()
    assert reported(report, "inc-2 #4 (approved), log #9: missing from the incident's index")
    assert reported(report, "inc-2 #4 (closed), log #10: sequence repeated")


def test_an_index_entry_pointing_at_another_event_is_named(open_log: Opened) -> None:
    store, table, _ = open_log
    table.put_item(Item={**pointer("inc-2", 4), "gseq": 5})  # inc-1's "closed"

    report = store.verify()
    assert reported(report, "inc-2 #4 (approved), log #9: missing from the incident's index")
    assert reported(report, "inc-2 #4 (?): the incident's index points at log #5")
    with pytest.raises(ValueError, match="index was altered"):
        store.events("inc-2")


def test_an_item_that_is_not_an_event_is_named_and_does_not_stop_the_log(
    open_log: Opened,
) -> None:
    store, table, _ = open_log
    table.put_item(Item={"pk": LOG, "sk": "~junk"})

    assert store.append("inc-2", "closed", "system", {}).gseq == 10
    assert reported(store.verify(), "log item '~junk' is not an audit event")


def test_a_deleted_tail_and_head_stay_reported_after_the_next_append(open_log: Opened) -> None:
    store, table, _ = open_log
    table.delete_item(Key=slot(9))
    table.delete_item(Key=pointer("inc-2", 4))
    table.delete_item(Key={"pk": "AUDIT#HEAD", "sk": "HEAD"})

    store.append("inc-2", "closed", "system", {})

    assert reported(store.verify(), "the signed head was missing when log #9 was added")


def test_a_sink_outage_at_a_close_loses_no_event_and_raises_nothing(open_log: Opened) -> None:
    store, _, sink = open_log

    def unreachable(name: str) -> bytes | None:
        raise ToolUnavailable("s3: unreachable")

    sink.down = True
    sink.read = unreachable  # type: ignore[method-assign]
    event = store.append("inc-2", "closed", "system", {})  # a digest is due at every close

    assert event.gseq == 10 and store.events("inc-2")[-1].kind == "closed"
    del sink.read  # readable again, still refusing writes
    assert reported(store.verify(), "is in the store but not yet in the sink")
