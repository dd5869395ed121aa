"""The audit log in DynamoDB: the same keyed chain, signed head and digests as in SQLite.

Items, all under `AUDIT#` keys (IAM denies deleting or updating the log's items):
- `AUDIT#LOG`, `<gseq>`: one event; the slot is written only if empty, so two containers
  racing for the next place in the chain cannot both take it (the loser reads again).
- `AUDIT#INCIDENT#<id>`, `<seq>`: the incident's event number `seq` is at `gseq`; also
  written only if empty, so an incident's numbers never repeat. Its first one is indexed, to
  list the incidents in order.
- The events of an indexed kind (`INDEXED_AUDIT_KINDS`) are also indexed under
  `AUDIT#KIND#<kind>`, in `gseq` order, to list them across incidents (trust, costs).
- `AUDIT#HEAD`: the signed head, written with every append. A genuine head further on than
  the log (its tail was deleted) places the next event after it, so the gap stays visible.
- `AUDIT#DIGEST`, `<number>`: a signed digest, written in the same transaction as the event
  it covers, then uploaded to the digest sink (S3 with Object Lock) and marked uploaded; a
  digest whose upload failed stays pending and goes with the next one (or the sweeper's
  `upload_pending_digests`), so a sink outage never loses an anchor or an event.
- `AUDIT#FINDING`, `<time>`: what an append found wrong (a missing or forged head), reported by
  every verify from then on.
"""

from __future__ import annotations

import builtins
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from pydantic import ValidationError

from healer.domain import INDEXED_AUDIT_KINDS, AuditEvent
from healer.errors import ConcurrentUpdate, ToolUnavailable
from healer.store.audit_key import AuditKey, process_audit_key
from healer.store.audit_records import (
    audit_report,
    event_for_verify,
    event_from_record,
    head_from_record,
    indexed_kind,
)
from healer.store.canonical import canonical_json
from healer.store.chain import GENESIS_HASH, authentic, build_event, head_is_valid, seal_head
from healer.store.digest_sinks import DigestSink
from healer.store.digests import build_digest, digest_reason, sha256
from healer.store.dynamodb_base import GSI1, ID_WIDTH, DynamoBase, new_token
from healer.store.models import AuditProblem, AuditReport, LogHead
from healer.store.sqlite_base import utc_now

log = logging.getLogger(__name__)

LOG, HEAD, DIGESTS, FINDINGS = "AUDIT#LOG", "AUDIT#HEAD", "AUDIT#DIGEST", "AUDIT#FINDING"
INCIDENTS = "AUDIT#INCIDENTS"
MAX_RACES = 50
"""Appends lost to other writers before giving up; each loss means another event landed."""


def _slot(number: int) -> str:
    return f"{number:0{ID_WIDTH}d}"


def _is_slot(sort_key: str) -> bool:
    return len(sort_key) == ID_WIDTH and sort_key.isdigit()


def _incident_pk(incident_id: str) -> str:
    return f"AUDIT#INCIDENT#{incident_id}"


Entry = tuple[str, str, str, dict[str, Any], datetime]
"""One event to append: incident id, kind, actor, data, time."""


@dataclass(frozen=True)
class PendingAppend:
    """Events ready to go at the end of the log: the writes of one transaction."""

    events: list[AuditEvent]
    writes: list[dict[str, Any]]
    token: str
    digest: bool


class DynamoAuditLog(DynamoBase):
    """`AuditLog` over DynamoDB.

    Args:
        resource, table_name, clock: as for `DynamoBase`.
        audit_key: The HMAC key's source (Secrets Manager on AWS); None for a random key of
            this process only.
        digests: Where signed digests go (`S3DigestSink` on AWS); None writes and checks none.
        digest_every: A digest is written every this many events (and at every close).
    """

    def __init__(
        self,
        resource: Any,
        table_name: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        audit_key: AuditKey | None = None,
        digests: DigestSink | None = None,
        digest_every: int = 100,
    ) -> None:
        if digest_every < 1:
            raise ValueError(f"digest_every: {digest_every}; it must be at least 1")
        super().__init__(resource, table_name, clock=clock)
        self._audit_key = audit_key or process_audit_key()
        self._digests = digests
        self._digest_every = digest_every

    def append(
        self,
        incident_id: str,
        kind: str,
        actor: str,
        data: dict[str, Any],
        at: datetime | None = None,
    ) -> AuditEvent:
        """Append an event at the end of the log, reseal the head, write a digest when due.

        Raises:
            ValueError: `kind` is not in `AUDIT_KINDS`, `actor` is empty, a time is naive,
                or `data` is not JSON-serialisable (nothing was appended).
            ConcurrentUpdate: other writers kept taking the next place in the log.
            ToolUnavailable: DynamoDB failed (nothing was appended).
        """
        entry = (incident_id, kind, actor, data, at or self._clock())
        for attempt in range(MAX_RACES):
            pending = self.prepare_append([entry])
            if self.commit(pending, pending.writes):
                return pending.events[0]
            time.sleep(random.uniform(0, 0.005 * min(attempt + 1, 10)))
        raise ConcurrentUpdate(f"audit log: {MAX_RACES} writers took the next place first")

    def prepare_append(self, entries: builtins.list[Entry]) -> PendingAppend:
        """The writes that append `entries`, in order, after the log's current end (ValueError
        for an event `build_event` refuses). Another writer may take the place first: the
        transaction then fails as a whole (`commit`)."""
        key, table, token = self._audit_key.secret(), self._table.name, new_token()
        gseq, prev_hash = self._end(key)
        anchor = self._last(DIGESTS)
        digests = int(anchor["number"]) if anchor else 0
        name, body_sha = (anchor["name"], anchor["sha256"]) if anchor else (None, None)
        digest_gseq = int(anchor["head_gseq"]) if anchor else 0
        seqs: dict[str, int] = {}
        events: list[AuditEvent] = []
        writes: list[dict[str, Any]] = []
        digest_due = False
        for incident_id, kind, actor, data, at in entries:
            if incident_id not in seqs:
                mine = self._last(_incident_pk(incident_id))
                seqs[incident_id] = int(mine["sk"]) if mine else 0
            event = build_event(
                key,
                incident_id,
                kind,
                actor,
                data,
                at,
                prev_gseq=gseq,
                prev_seq=seqs[incident_id],
                prev_hash=prev_hash,
            )
            events.append(event)
            gseq, prev_hash, seqs[incident_id] = event.gseq, event.hash, event.seq
            writes += [
                _put_new(table, {**_log_item(event), "token": token}),
                _put_new(table, _pointer_item(event)),
            ]
            reason = digest_reason(event, self._digest_every)
            if self._digests is not None and reason is not None:
                name, body = build_digest(
                    key,
                    digests + 1,
                    event,
                    self._clock(),
                    reason,
                    self._incidents_since(digest_gseq, events),
                    (name, body_sha),
                )
                digests, body_sha, digest_gseq = digests + 1, sha256(body), event.gseq
                writes.append(_put_new(table, _digest_item(digests, name, body, event.gseq)))
                digest_due = True
        head = seal_head(key, gseq, prev_hash, digests, name, body_sha, digest_gseq).model_dump()
        # the log's slots serialise appends; the head follows the winner
        writes.append({"Put": {"TableName": table, "Item": {"pk": HEAD, "sk": "HEAD", **head}}})
        return PendingAppend(events, writes, token, digest_due)

    def commit(self, pending: PendingAppend, writes: builtins.list[dict[str, Any]]) -> bool:
        """Write `writes` (the pending appends' and any others) in one transaction; False if
        a condition failed (nothing was written). A transaction whose reply was lost is
        recognised by the token on its first event. Uploads the digests it wrote."""
        transact = self._table.meta.client.transact_write_items
        done = self._conditional(transact, TransactItems=writes) is not None
        if not done:
            first = _slot(pending.events[0].gseq)
            done = self._landed(LOG, first, pending.token) is not None
        if done and pending.digest:
            self._upload_or_leave_pending()  # the events are in, whatever the sink does
        return done

    def upload_pending_digests(self) -> int:
        """Upload the digests not yet in the sink, oldest first; how many went. A failing
        sink is logged and leaves them pending (the next digest or the sweeper retries)."""
        if self._digests is None:
            return 0
        pending = self._pending_digests()
        for count, item in enumerate(pending):
            body = str(item["body"]).encode()
            try:
                self._digests.write(item["name"], body)
            except ToolUnavailable as exc:
                try:
                    written = self._digests.read(item["name"]) == body  # by an earlier try
                except ToolUnavailable:
                    written = False
                if not written:
                    log.warning("audit digest %s left pending: %s", item["name"], exc)
                    return count
            self._call(
                self._table.update_item,
                Key={"pk": DIGESTS, "sk": item["sk"]},
                UpdateExpression="SET uploaded = :true",
                ExpressionAttributeValues={":true": True},
            )
        return len(pending)

    def _upload_or_leave_pending(self) -> None:
        try:
            self.upload_pending_digests()
        except ToolUnavailable as exc:
            log.warning("audit digests left pending: %s", exc)

    def _pending_digests(self) -> builtins.list[dict[str, Any]]:
        """The digests written to the table and not yet to the sink, oldest first."""
        return self._query(
            KeyConditionExpression=Key("pk").eq(DIGESTS),
            FilterExpression=Attr("uploaded").eq(False),
            ConsistentRead=True,
        )

    def events(self, incident_id: str) -> builtins.list[AuditEvent]:
        """The incident's events in `seq` order; ValueError if one cannot be read."""
        pointers = self._query(
            KeyConditionExpression=Key("pk").eq(_incident_pk(incident_id)), ConsistentRead=True
        )
        items = self._batch_get([{"pk": LOG, "sk": _slot(int(p["gseq"]))} for p in pointers])
        events = sorted((event_from_record(item) for item in items), key=lambda e: e.seq)
        claimed = sorted(int(p["sk"]) for p in pointers)
        ours = all(e.incident_id == incident_id for e in events)
        if not ours or [e.seq for e in events] != claimed:
            raise ValueError(f"audit log of {incident_id}: its index was altered (audit verify)")
        return events

    def events_of_kind(self, kind: str) -> builtins.list[AuditEvent]:
        """Every incident's events of an indexed `kind`, in `gseq` order (from the index,
        which may lag a moment behind the log); an event whose keyed hash does not match
        (written without the key) is left out (`verify` reports it)."""
        indexed_kind(kind)
        items = self._query(IndexName=GSI1, KeyConditionExpression=Key("gsi1pk").eq(_kind_pk(kind)))
        key = self._audit_key.secret()
        return [e for e in map(event_from_record, items) if authentic(key, e)]

    def incident_ids(self) -> builtins.list[str]:
        """Incidents with audit events, in order of their first event (from the index, which
        may lag a moment behind the log)."""
        items = self._query(IndexName=GSI1, KeyConditionExpression=Key("gsi1pk").eq(INCIDENTS))
        return [str(item["incident_id"]) for item in items]

    def verify(self, incident_id: str | None = None) -> AuditReport:
        """Verify the whole log, its index, its signed head and its digests (uploading pending
        digests first). With `incident_id`, report that incident's problems and the log's.

        The head is read before and after the log: an append landing in between (another
        container at work) makes it read again rather than report a truncation that is not.
        """
        key = self._audit_key.secret()
        self._upload_or_leave_pending()
        for _ in range(5):
            head = self._get(HEAD, "HEAD")
            items = self._query(KeyConditionExpression=Key("pk").eq(LOG), ConsistentRead=True)
            if self._get(HEAD, "HEAD") == head:
                break
        problems = [
            AuditProblem(problem=f"log item {item['sk']!r} is not an audit event: not the healer's")
            for item in items
            if not _is_slot(item["sk"])
        ]
        events = [
            event_for_verify({"gseq": int(item["sk"]), **item})
            for item in items
            if _is_slot(item["sk"])
        ]
        problems += self._index_problems(events)
        problems += [
            AuditProblem(problem=f"{item['problem']} (found at {item['sk'].split('#')[0]})")
            for item in self._query(
                KeyConditionExpression=Key("pk").eq(FINDINGS), ConsistentRead=True
            )
        ]
        problems += [
            AuditProblem(
                problem=f"digest {item['name']} is in the store but not yet in the sink"
                " (its upload failed; it is retried)"
            )
            for item in self._pending_digests()
        ]
        return audit_report(key, events, head, self._digests, problems, incident_id)

    def _index_problems(self, events: builtins.list[AuditEvent]) -> builtins.list[AuditProblem]:
        """Where the per-incident index disagrees with the log: a missing or redirected entry
        would hide an event from the incident's timeline or show another's in it."""
        problems: list[AuditProblem] = []
        for incident_id in dict.fromkeys(e.incident_id for e in events):
            items = self._query(
                KeyConditionExpression=Key("pk").eq(_incident_pk(incident_id)),
                ConsistentRead=True,
            )
            pointers = {int(p["sk"]): int(p.get("gseq", 0)) for p in items if _is_slot(p["sk"])}
            mine = [e for e in events if e.incident_id == incident_id]
            problems += [
                AuditProblem(
                    incident_id=incident_id,
                    seq=e.seq,
                    kind=e.kind,
                    gseq=e.gseq,
                    problem="missing from the incident's index (edited)",
                )
                for e in mine
                if pointers.get(e.seq) != e.gseq
            ]
            indexed = {(e.seq, e.gseq) for e in mine}
            problems += [
                AuditProblem(
                    incident_id=incident_id,
                    seq=seq,
                    problem=f"the incident's index points at log #{gseq}, which is not this event",
                )
                for seq, gseq in sorted(pointers.items())
                if (seq, gseq) not in indexed
            ]
        return problems

    def _end(self, key: bytes) -> tuple[int, str]:
        """Where the next event goes: after the log's last event or, when the signed head is
        genuine and further on (the tail was deleted), after the head, so the deletion stays
        a visible gap instead of being written over. A log whose head is missing or forged is
        still appended to (the healer must not stop), and that is recorded for verify."""
        last = self._last(LOG)
        end = (int(last["gseq"]), str(last["hash"])) if last else (0, GENESIS_HASH)
        for pause in (0.0, 0.05):  # a racing append's head may show a moment after its event
            time.sleep(pause)
            head, genuine = self._head(key)
            if head is not None and genuine and head.gseq > end[0]:
                return head.gseq, head.hash
            at_end = genuine and head is not None and head.gseq == end[0]
            if last is None or at_end:
                return end
        state = "missing" if head is None else "not genuine or not at the log's end"
        self._record_finding(f"the signed head was {state} when log #{end[0] + 1} was added")
        return end

    def _head(self, key: bytes) -> tuple[LogHead | None, bool]:
        """The stored head, and whether it is genuine (signed with the key)."""
        try:
            head = head_from_record(self._get(HEAD, "HEAD"))
        except (ValidationError, KeyError):
            return None, False
        return head, head is not None and head_is_valid(key, head)

    def _record_finding(self, problem: str) -> None:
        """Keep what the log's writer found wrong, for every verify to report."""
        self._call(
            self._table.put_item,
            Item={"pk": FINDINGS, "sk": f"{self._now()}#{new_token()[:8]}", "problem": problem},
        )

    def _last(self, pk: str) -> dict[str, Any] | None:
        """The item of `pk` in the highest numbered slot; items not in a slot (not the
        healer's) are passed over."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": 10,
        }
        while True:
            page = self._call(self._table.query, **query)
            for item in page["Items"]:
                if _is_slot(item["sk"]) and (pk != LOG or {"gseq", "hash"} <= item.keys()):
                    found: dict[str, Any] = item
                    return found
            if "LastEvaluatedKey" not in page:
                return None
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _incidents_since(self, gseq: int, batch: builtins.list[AuditEvent]) -> dict[str, int]:
        """Each incident's newest `seq` among the events after `gseq`, this `batch` included."""
        items = self._query(
            KeyConditionExpression=Key("pk").eq(LOG) & Key("sk").gt(_slot(gseq)),
            ProjectionExpression="sk, incident_id, seq",
            ConsistentRead=True,
        )
        newest: dict[str, int] = {}
        stored = [
            (str(item["incident_id"]), int(item["seq"]))
            for item in items
            if _is_slot(item["sk"]) and {"incident_id", "seq"} <= item.keys()
        ]
        for incident, seq in [*stored, *((e.incident_id, e.seq) for e in batch)]:
            newest[incident] = max(newest.get(incident, 0), seq)
        return newest

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        """The items at `keys` (consistent reads, 100 keys a call, unprocessed keys retried)."""
        found: list[dict[str, Any]] = []
        client = self._table.meta.client
        for start in range(0, len(keys), 100):
            batch = {"Keys": keys[start : start + 100], "ConsistentRead": True}
            request = {self._table.name: batch}
            while request:
                page = self._call(client.batch_get_item, RequestItems=request)
                found += page["Responses"].get(self._table.name, [])
                request = page.get("UnprocessedKeys") or {}
        return found


def _put_new(table: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
    }


def _kind_pk(kind: str) -> str:
    return f"AUDIT#KIND#{kind}"


def _log_item(event: AuditEvent) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": LOG,
        "sk": _slot(event.gseq),
        "gseq": event.gseq,
        "incident_id": event.incident_id,
        "seq": event.seq,
        "kind": event.kind,
        "actor": event.actor,
        "at": event.at.isoformat(),
        "data": canonical_json(event.data),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
    if event.kind in INDEXED_AUDIT_KINDS:
        item |= {"gsi1pk": _kind_pk(event.kind), "gsi1sk": _slot(event.gseq)}
    return item


def _pointer_item(event: AuditEvent) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _incident_pk(event.incident_id),
        "sk": _slot(event.seq),
        "gseq": event.gseq,
    }
    if event.seq == 1:
        item |= {"gsi1pk": INCIDENTS, "gsi1sk": _slot(event.gseq), "incident_id": event.incident_id}
    return item


def _digest_item(number: int, name: str, body: bytes, head_gseq: int) -> dict[str, Any]:
    return {
        "pk": DIGESTS,
        "sk": _slot(number),
        "number": number,
        "name": name,
        "body": body.decode(),
        "sha256": sha256(body),
        "head_gseq": head_gseq,
        "uploaded": False,
    }
