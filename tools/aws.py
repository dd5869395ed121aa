"""The AWS clients the tools use, injected as one bundle (never built at import time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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
