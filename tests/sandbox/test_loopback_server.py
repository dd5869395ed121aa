"""The loopback moto server applies each DynamoDB write atomically, as DynamoDB does."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import boto3
import pytest
from botocore.exceptions import ClientError

from healer.sandbox.server import LoopbackMotoServer

RACERS = 16
ROUNDS = 25


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = LoopbackMotoServer()
    server.start()
    try:
        yield server.endpoint_url
    finally:
        server.stop()


def test_racing_conditional_writes_to_one_item_let_exactly_one_through(endpoint: str) -> None:
    def client() -> object:
        return boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    admin = client()
    admin.create_table(  # type: ignore[attr-defined]
        TableName="race",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = [client() for _ in range(RACERS)]
    barrier = Barrier(RACERS)

    def claim(racer: int, key: str) -> bool:
        barrier.wait()
        try:
            clients[racer].put_item(  # type: ignore[attr-defined]
                TableName="race",
                Item={"pk": {"S": key}, "by": {"N": str(racer)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False
        return True

    with ThreadPoolExecutor(RACERS) as pool:
        winners = [
            sum(pool.map(claim, range(RACERS), [f"slot-{n}"] * RACERS)) for n in range(ROUNDS)
        ]

    assert winners == [1] * ROUNDS
