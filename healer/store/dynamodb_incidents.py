"""Incidents in DynamoDB: the whole document, written only on the version it was read at.

An incident is one item (`INCIDENT#<id>`, `INCIDENT`) listed newest first in the index; while
open it has a second item (`INCIDENT#<id>`, `OPEN`) in the index's open listing; each of its
resources has a pointer (`RESOURCE#<resource>`, `INCIDENT#<opened_at>#<id>`) for correlation.
The action history is read from the execution ledger's target items.
A save is one transaction, conditional on the stored version, so a stale copy never overwrites
a newer save; it writes only what changed, so it stays within DynamoDB's 100 items however
large the incident. The document is the truth: a listing or pointer is confirmed against it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from healer.domain import ActionId, Incident, PastAction, Step
from healer.errors import ConcurrentUpdate
from healer.store.canonical import sortable
from healer.store.dynamodb_base import GSI1, DynamoBase

POINTERS_IN_A_TRANSACTION = 50
"""Resource pointers a save puts or deletes in its transaction (DynamoDB allows 100 items in
all; a save can be part of a bigger one)."""


class DynamoIncidentStore(DynamoBase):
    """`IncidentStore` over DynamoDB."""

    def save(self, incident: Incident) -> None:
        """Insert or update the incident if nobody saved it since it was read; bumps its
        `version`.

        Raises:
            ConcurrentUpdate: the stored version is not the one this copy was read at.
        """
        writes = self.save_writes(incident)
        transact = self._table.meta.client.transact_write_items  # takes plain values too
        if self._conditional(transact, TransactItems=writes) is None:
            raise self._stale(incident, self.get(incident.id))  # another writer saved first
        incident.version += 1

    def save_writes(self, incident: Incident) -> builtins.list[dict[str, Any]]:
        """The transaction items that save `incident` at its next version, conditional on the
        version it was read at (`save`, or a bigger transaction).

        Only what changed is written: the document, its open marker when it opens or closes,
        and pointers for resources it gained or lost, so the transaction stays small however
        many resources the incident has. Pointers are hints the document confirms on reading:
        when an incident gains too many at once for one transaction, they are written first.

        Raises:
            ConcurrentUpdate: the stored version is already another one.
        """
        opened_at = sortable(incident.opened_at, "opened_at")
        version = incident.version + 1
        stored = self.get(incident.id)
        if (stored.version if stored else 0) != incident.version:
            raise self._stale(incident, stored)
        listed = _listed(incident)
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if stored is None
            else {
                "ConditionExpression": "#v = :read",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":read": incident.version},
            }
        )
        document = {
            "pk": f"INCIDENT#{incident.id}",
            "sk": "INCIDENT",
            "gsi1pk": "INCIDENTS",
            "gsi1sk": listed,
            "version": version,
            "opened_at": opened_at,
            "incident_id": incident.id,
            "doc": incident.model_copy(update={"version": version}).model_dump_json(),
        }
        writes = [{"Put": {"TableName": self._table.name, "Item": document, **condition}}]
        writes += self._open_marker_writes(stored, incident, listed)
        pointer = {"sk": f"INCIDENT#{listed}", "incident_id": incident.id, "world": incident.world}
        pointers = [{"pk": f"RESOURCE#{r}"} | pointer for r in _gained(stored, incident)]
        if len(pointers) > POINTERS_IN_A_TRANSACTION:
            self._call(self._put_all, items=pointers)
            pointers = []
        writes += [{"Put": {"TableName": self._table.name, "Item": p}} for p in pointers]
        room = POINTERS_IN_A_TRANSACTION - len(pointers)  # a lost pointer left behind is
        lost = _lost_pointers(stored, incident, listed)[:room]  # harmless: the document rules
        writes += [{"Delete": {"TableName": self._table.name, "Key": key}} for key in lost]
        return writes

    def _put_all(self, items: builtins.list[dict[str, Any]]) -> int:
        """Write the items in batches, unconditionally; how many were written."""
        with self._table.batch_writer() as batch:
            for item in items:
                batch.put_item(Item=item)
        return len(items)

    def _open_marker_writes(
        self, stored: Incident | None, incident: Incident, listed: str
    ) -> builtins.list[dict[str, Any]]:
        """Put the open-incidents listing's item when the incident opens, delete it when it
        closes."""
        key = {"pk": f"INCIDENT#{incident.id}", "sk": "OPEN"}
        was_listed = _listed(stored) if stored is not None and _is_open(stored) else None
        if _is_open(incident) and was_listed != listed:
            marker = key | {"gsi1pk": "OPEN_INCIDENTS", "gsi1sk": listed, "world": incident.world}
            return [{"Put": {"TableName": self._table.name, "Item": marker}}]
        if was_listed is not None and not _is_open(incident):
            return [{"Delete": {"TableName": self._table.name, "Key": key}}]
        return []

    def get(self, incident_id: str) -> Incident | None:
        """The incident, or None."""
        item = self._get(f"INCIDENT#{incident_id}", "INCIDENT")
        return None if item is None else Incident.model_validate_json(item["doc"])

    def find_open_for(
        self, resources: builtins.list[str], since: datetime, world: str | None = None
    ) -> Incident | None:
        """The newest open incident opened at or after `since` sharing a resource (in `world`
        when given: an account, or one sandbox run)."""
        start = f"INCIDENT#{sortable(since, 'since')}"
        wanted = set(resources)
        found: set[tuple[str, str]] = set()
        for resource in sorted(wanted):
            items = self._query(
                KeyConditionExpression=Key("pk").eq(f"RESOURCE#{resource}") & Key("sk").gte(start),
                ConsistentRead=True,
                **_in(world),
            )
            found |= {(item["sk"], item["incident_id"]) for item in items}
        for _, incident_id in sorted(found, reverse=True):  # a pointer is a hint: confirm it
            incident = self.get(incident_id)
            if incident and _is_open(incident) and wanted & set(incident.resources):
                return incident
        return None

    def latest_open(self, since: datetime, world: str | None = None) -> Incident | None:
        """The newest open incident opened at or after `since` (in `world` when given)."""
        return next(iter(self._open(since, world)), None)

    def list_open(self) -> builtins.list[Incident]:
        """Every open incident, newest first, however old."""
        return list(self._open())

    def _open(self, since: datetime | None = None, world: str | None = None) -> Iterator[Incident]:
        """Open incidents newest first, read again from their documents: the listing lags."""
        condition = Key("gsi1pk").eq("OPEN_INCIDENTS")
        if since is not None:
            condition &= Key("gsi1sk").gte(sortable(since, "since"))
        items = self._query(
            IndexName=GSI1,
            KeyConditionExpression=condition,
            ScanIndexForward=False,
            **_in(world),
        )
        for item in items:
            current = self.get(item["pk"].removeprefix("INCIDENT#"))
            if current is not None and _is_open(current):
                yield current

    def past_actions(
        self, target: str, since: datetime, world: str | None = None
    ) -> builtins.list[PastAction]:
        """Actions begun on `target` at or after `since` (by incidents of `world` when given),
        oldest first, whatever their result: a failed or unfinished one may have acted."""
        items = self._query(
            KeyConditionExpression=Key("pk").eq(f"TARGET#{target}")
            & Key("sk").gte(sortable(since, "since")),
            ConsistentRead=True,
        )
        if world is not None:
            worlds = {i["incident_id"]: self.get(i["incident_id"]) for i in items}
            items = [i for i in items if (w := worlds[i["incident_id"]]) and w.world == world]
        return [
            PastAction(
                action=ActionId(item["action"]),
                target=item["target"],
                at=datetime.fromisoformat(item["started_at"]),
            )
            for item in items
        ]

    def list(self, limit: int = 50) -> builtins.list[Incident]:
        """The newest incidents first (as the eventually consistent index has them)."""
        if limit == 0:
            return []
        items = self._query(
            limit=limit if limit > 0 else None,
            IndexName=GSI1,
            KeyConditionExpression=Key("gsi1pk").eq("INCIDENTS"),
            ScanIndexForward=False,
        )
        return [Incident.model_validate_json(item["doc"]) for item in items]

    @staticmethod
    def _stale(incident: Incident, stored: Incident | None) -> ConcurrentUpdate:
        return ConcurrentUpdate(
            f"incident {incident.id} was saved by another writer (version "
            f"{stored.version if stored else 0}, this copy {incident.version}): reload it"
        )


def _is_open(incident: Incident) -> bool:
    return incident.closed_at is None and incident.step is not Step.DONE


def _listed(incident: Incident) -> str:
    """The incident's sort key in listings and pointers: newest first by opening instant."""
    return f"{sortable(incident.opened_at, 'opened_at')}#{incident.id}"


def _gained(stored: Incident | None, incident: Incident) -> builtins.list[str]:
    """The resources that need a pointer: all at first, then those the incident gained (all
    again if it moved in time, which changes the pointers' keys)."""
    same_keys = stored is not None and _listed(stored) == _listed(incident)
    had = set(stored.resources) if stored is not None and same_keys else set()
    return sorted(set(incident.resources) - had)


def _lost_pointers(
    stored: Incident | None, incident: Incident, listed: str
) -> builtins.list[dict[str, str]]:
    """The pointers of the stored copy that the new one no longer has."""
    if stored is None:
        return []
    old = _listed(stored)
    kept = set(incident.resources) if old == listed else set()
    return [
        {"pk": f"RESOURCE#{r}", "sk": f"INCIDENT#{old}"}
        for r in sorted(set(stored.resources) - kept)
    ]


def _in(world: str | None) -> dict[str, Any]:
    """A query's filter to one world (none when `world` is None)."""
    return {} if world is None else {"FilterExpression": Attr("world").eq(world)}
