"""Incidents in DynamoDB: the whole document, written only on the version it was read at.

An incident is one item (`INCIDENT#<id>`) listed newest first in the index; each of its
resources has an item (`RESOURCE#<resource>`, `INCIDENT#<opened_at>#<id>`) for correlation;
the action history is read from the execution ledger's target items.
A save writes the incident and its resource items in one transaction, conditional on the
stored version, so a stale copy never overwrites a newer save and the resource items never
disagree with the document.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from healer.domain import ActionId, Incident, PastAction, Step
from healer.errors import ConcurrentUpdate
from healer.store.canonical import sortable
from healer.store.dynamodb_base import GSI1, DynamoBase


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

        Raises:
            ConcurrentUpdate: the stored version is already another one.
        """
        opened_at = sortable(incident.opened_at, "opened_at")
        version = incident.version + 1
        closed = incident.closed_at is not None or incident.step is Step.DONE
        stored = self.get(incident.id)
        if (stored.version if stored else 0) != incident.version:
            raise self._stale(incident, stored)
        index_key = f"INCIDENT#{opened_at}#{incident.id}"
        common = {"closed": closed, "world": incident.world, "incident_id": incident.id}
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if stored is None
            else {
                "ConditionExpression": "#v = :read",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":read": incident.version},
            }
        )
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {
                        "pk": f"INCIDENT#{incident.id}",
                        "sk": "INCIDENT",
                        "gsi1pk": "INCIDENTS",
                        "gsi1sk": f"{opened_at}#{incident.id}",
                        "version": version,
                        "opened_at": opened_at,
                        "doc": incident.model_copy(update={"version": version}).model_dump_json(),
                        **common,
                    },
                    **condition,
                }
            }
        ]
        writes += [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {"pk": f"RESOURCE#{r}", "sk": index_key, **common},
                }
            }
            for r in sorted(set(incident.resources))
        ]
        writes += [
            {"Delete": {"TableName": self._table.name, "Key": key}}
            for key in _stale_resource_keys(stored, incident, index_key)
        ]
        return writes

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
        found: list[tuple[str, str]] = []
        for resource in sorted(set(resources)):
            items = self._query(
                KeyConditionExpression=Key("pk").eq(f"RESOURCE#{resource}") & Key("sk").gte(start),
                FilterExpression=_open_in(world),
                ConsistentRead=True,
            )
            found += [(item["sk"], item["incident_id"]) for item in items]
        return self.get(max(found)[1]) if found else None

    def latest_open(self, since: datetime, world: str | None = None) -> Incident | None:
        """The newest open incident opened at or after `since` (in `world` when given)."""
        candidates = self._query(
            IndexName=GSI1,
            KeyConditionExpression=Key("gsi1pk").eq("INCIDENTS")
            & Key("gsi1sk").gte(sortable(since, "since")),
            FilterExpression=_open_in(world),
            ScanIndexForward=False,
        )
        for item in candidates:  # the index may lag behind the item: read it again
            current = self.get(item["incident_id"])
            if current and current.closed_at is None and current.step is not Step.DONE:
                return current
        return None

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


def _stale_resource_keys(
    stored: Incident | None, incident: Incident, index_key: str
) -> builtins.list[dict[str, str]]:
    """The resource items of the stored copy that the new one no longer has."""
    if stored is None:
        return []
    old_key = f"INCIDENT#{sortable(stored.opened_at, 'opened_at')}#{stored.id}"
    kept = set(incident.resources) if old_key == index_key else set()
    return [{"pk": f"RESOURCE#{r}", "sk": old_key} for r in sorted(set(stored.resources) - kept)]


def _open_in(world: str | None) -> Any:
    condition = Attr("closed").eq(False)
    return condition if world is None else condition & Attr("world").eq(world)
