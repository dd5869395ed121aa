"""What the agent tools of one incident work with: clients, knowledge, prices and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from healer.catalog import Catalog
from knowledge_base.retriever import Retriever
from knowledge_base.runbooks import Runbook
from tools.aws import AwsClients
from tools.pricing import PriceSource
from tools.remediation import Executor


@dataclass
class ToolContext:
    """Injected into every tool builder; nothing here is built at import time."""

    incident_id: str
    aws: AwsClients
    catalog: Catalog
    retriever: Retriever
    runbooks: dict[str, Runbook]
    prices: PriceSource
    executor: Executor
    clock: Callable[[], datetime]
    trail_log_group: str = "/healer/cloudtrail"
