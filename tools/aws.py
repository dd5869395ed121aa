"""The AWS clients the tools use, injected as one bundle (never built at import time)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

NEVER_CACHED = frozenset({"get_waiter", "get_query_results", "get_command_invocation"})
READS = ("describe_", "list_", "get_")


class ClientFactory(Protocol):
    def client(self, service_name: str) -> Any: ...


@dataclass(frozen=True)
class AwsClients:
    """boto3 clients for one account and region."""

    cloudwatch: Any
    logs: Any
    ec2: Any
    autoscaling: Any
    ssm: Any
    region: str
    elbv2: Any = None

    @classmethod
    def from_factory(cls, factory: ClientFactory, region: str) -> AwsClients:
        return cls(
            cloudwatch=factory.client("cloudwatch"),
            logs=factory.client("logs"),
            ec2=factory.client("ec2"),
            autoscaling=factory.client("autoscaling"),
            ssm=factory.client("ssm"),
            region=region,
            elbv2=factory.client("elbv2"),
        )

    def reading_once(self) -> AwsClients:
        """The same clients, each read (Describe/List/Get) asked once per set of arguments:
        for one investigation, which reads a world that does not change under it."""
        wrapped: dict[str, Any] = {
            f.name: CachedReads(getattr(self, f.name))
            for f in fields(self)
            if f.name != "region" and getattr(self, f.name) is not None
        }
        return replace(self, **wrapped)


class CachedReads:
    """A boto3 client whose reads answer from memory when asked again with the same arguments
    (each answer a copy); polls and every write go to AWS."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._answers: dict[tuple[str, str], Any] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name in NEVER_CACHED or not name.startswith(READS):
            return method
        return lambda **kwargs: self._once(name, kwargs, lambda: method(**kwargs))

    def get_paginator(self, operation: str) -> Any:
        """A paginator whose pages of a Describe or List are read once (other operations, such
        as a log search, are paged from AWS as they are read)."""
        paginator = self._client.get_paginator(operation)
        if not operation.startswith(("describe_", "list_")):
            return paginator
        return _Pages(self, operation, paginator)

    def _once(self, name: str, kwargs: dict[str, Any], ask: Callable[[], Any]) -> Any:
        key = (name, json.dumps(kwargs, sort_keys=True, default=str))
        if key not in self._answers:
            self._answers[key] = ask()
        return copy.deepcopy(self._answers[key])


class _Pages:
    def __init__(self, reads: CachedReads, operation: str, paginator: Any) -> None:
        self._reads, self._operation, self._paginator = reads, operation, paginator

    def paginate(self, **kwargs: Any) -> list[Any]:
        name = f"pages:{self._operation}"
        return list(
            self._reads._once(name, kwargs, lambda: list(self._paginator.paginate(**kwargs)))
        )
