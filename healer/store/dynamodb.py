"""`DynamoStore`: the store protocols over one DynamoDB table, the AWS deployment's store.

So far incidents, the event ledger, the approvals, the execution ledger and the locks, with
the same contract as the SQLite store (tests/store run both); the audit log and the combined
transactions of the workflow (`accept_event`, `consume_and_begin`) follow (issue 9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from healer.store.dynamodb_approvals import DynamoApprovalStore
from healer.store.dynamodb_base import table_definition
from healer.store.dynamodb_events import DynamoEventLedger
from healer.store.dynamodb_executions import DynamoExecutionLedger, DynamoLocks
from healer.store.dynamodb_incidents import DynamoIncidentStore

if TYPE_CHECKING:
    from healer.store.protocols import (
        ApprovalStore,
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
    DynamoLocks,
):
    """Incidents, event ledger, approvals, execution ledger and locks in one DynamoDB table
    (see `dynamodb_base`)."""


if TYPE_CHECKING:
    # mypy proves here that the adapter satisfies the protocols it implements.
    def _conforms(
        store: DynamoStore,
    ) -> tuple[IncidentStore, EventLedger, ApprovalStore, ExecutionLedger]:
        return store, store, store, store
