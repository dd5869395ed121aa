"""`DynamoStore`: every store protocol over one DynamoDB table, the AWS deployment's store.

The same contract as the SQLite store (tests/store run both), including the workflow's two
combined writes, `accept_event` and `consume_and_begin`, each one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from healer.domain import ActionId, ApprovalStatus, Incident
from healer.errors import ConcurrentUpdate
from healer.store.dynamodb_approvals import DynamoApprovalStore
from healer.store.dynamodb_audit import MAX_RACES, DynamoAuditLog
from healer.store.dynamodb_base import table_definition
from healer.store.dynamodb_events import DynamoEventLedger
from healer.store.dynamodb_executions import DynamoExecutionLedger, DynamoLocks
from healer.store.dynamodb_incidents import DynamoIncidentStore
from healer.store.models import ExecutionRecord

if TYPE_CHECKING:
    from healer.store.protocols import (
        ApprovalStore,
        AuditLog,
        EventLedger,
        ExecutionLedger,
        IncidentStore,
    )

__all__ = ["DynamoStore", "table_definition"]


class DynamoStore(
    DynamoIncidentStore,
    DynamoEventLedger,
    DynamoApprovalStore,
    DynamoExecutionLedger,
    DynamoAuditLog,
    DynamoLocks,
):
    """Incidents, event ledger, approvals, execution ledger, audit log and locks in one
    DynamoDB table (see `dynamodb_base`; the audit log's items, `dynamodb_audit`).

    Args:
        resource: `boto3.resource("dynamodb", ...)`, built once per container.
        table_name: The store's table (created by Terraform, or `table_definition`).
        clock: Returns the current aware time; injected by tests.
        audit_key: The audit log's HMAC key; None for a random key of this process only.
        digests: Where the audit log's signed digests go; None for none.
        digest_every: Write a digest every this many events (and at every close).
    """

    def accept_event(
        self,
        dedup_key: str,
        reason: str,
        raw: dict[str, Any],
        incident: Incident,
        audit_kind: str,
        audit_data: dict[str, Any],
    ) -> bool:
        """Record the first delivery of an event, save the incident it opened or joined and
        audit it, in one transaction. False (and the delivery recorded as a duplicate, the
        incident untouched) when the key was already received.

        Raises:
            ConcurrentUpdate: the incident was saved by another writer since it was read.
        """
        for _ in range(MAX_RACES):
            if self.seen(dedup_key):
                self.record(dedup_key, "duplicate", "already received", None, raw)
                return False
            first = self.delivery_item(dedup_key, "accepted", reason, incident.id, raw)
            saving = self.save_writes(incident)  # ConcurrentUpdate when already stale
            entry = (incident.id, audit_kind, "system:ingest", audit_data, self._clock())
            pending = self.prepare_append([entry])
            new_first = {
                "Put": {
                    "TableName": self._table.name,
                    "Item": first,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            if self.commit(pending, [new_first, *saving, *pending.writes]):
                incident.version += 1
                return True
            # the key arrived, the incident changed or the log moved on: look again
        raise ConcurrentUpdate(f"event {dedup_key}: {MAX_RACES} writers got there first")

    def consume_and_begin(
        self,
        approval_id: str,
        incident_id: str,
        plan_hash: str,
        action: ActionId | str,
        target: str,
        params: dict[str, Any],
        at: datetime,
        actor: str,
    ) -> ExecutionRecord:
        """Consume an APPROVED approval, record the execution's intent and audit both, in one
        transaction: all of it happens or none (ActionRejected when the approval is not
        APPROVED, or the plan was begun with another action)."""
        for _ in range(MAX_RACES):
            consume, approval = self.transition_write(
                approval_id, ApprovalStatus.APPROVED, ApprovalStatus.CONSUMED, None, at
            )
            begin, item = self.begin_writes(incident_id, plan_hash, action, target, params, at)
            plan = {"action": str(item["action"]), "target": target, "params": params}
            pending = self.prepare_append(
                [
                    (
                        incident_id,
                        "approval_consumed",
                        actor,
                        {"approval_id": approval_id, "decided_by": approval.decided_by, **plan},
                        at,
                    ),
                    (incident_id, "action_started", actor, {**plan, "plan_hash": plan_hash}, at),
                ]
            )
            if self.commit(pending, [consume, *begin, *pending.writes]):
                stored = self.get_execution(incident_id, plan_hash)
                assert stored is not None
                return stored
            # the approval changed, the plan was begun or the log moved on: look again
        raise ConcurrentUpdate(f"approval {approval_id}: {MAX_RACES} writers got there first")


if TYPE_CHECKING:
    # mypy proves here that the adapter satisfies the protocols it implements.
    def _conforms(
        store: DynamoStore,
    ) -> tuple[IncidentStore, EventLedger, ApprovalStore, ExecutionLedger, AuditLog]:
        return store, store, store, store, store
