"""`DynamoStore`: the store protocols over one DynamoDB table, the AWS deployment's store.

So far the event ledger and the approvals, with the same contract as the SQLite store
(tests/store run both); incidents, executions and locks, and the audit log follow (issue 9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from healer.store.dynamodb_approvals import DynamoApprovalStore
from healer.store.dynamodb_base import table_definition
from healer.store.dynamodb_events import DynamoEventLedger

if TYPE_CHECKING:
    from healer.store.protocols import ApprovalStore, EventLedger

__all__ = ["DynamoStore", "table_definition"]


class DynamoStore(DynamoEventLedger, DynamoApprovalStore):
    """Event ledger and approvals in one DynamoDB table (see `dynamodb_base`)."""


if TYPE_CHECKING:
    # mypy proves here that the adapter satisfies the protocols it implements.
    def _conforms(store: DynamoStore) -> tuple[EventLedger, ApprovalStore]:
        return store, store
