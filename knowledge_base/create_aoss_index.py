"""Create the runbook vector index in an OpenSearch Serverless collection.

Run by `terraform apply` (infra/terraform/knowledge_base.tf) before the Bedrock Knowledge Base is
created, since the AWS provider has no resource for the index. A new collection's endpoint and
data-access policy take a minute or so to take effect, refusing requests (403, DNS or connection
errors) until then, so creation is retried until `--wait-seconds` have passed. Safe to repeat: an
index that exists is left as it is.

    python -m knowledge_base.create_aoss_index --endpoint https://ID.REGION.aoss.amazonaws.com \
        --index healer-runbooks --dimension 1024 --region REGION
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from opensearchpy import OpenSearch

from healer.errors import ConfigError, ToolUnavailable
from knowledge_base.opensearch import DEFAULT_DIMENSION, OpenSearchRetriever, aoss_client

RETRY_SECONDS = 5.0
Connect = Callable[[str, str], OpenSearch]


def create_when_ready(
    retriever: OpenSearchRetriever,
    dimension: int,
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Create the index, retrying refusals until `wait_seconds` have passed.

    Returns:
        True when the index was created, False when it already existed.

    Raises:
        ToolUnavailable: The collection still refused when the time was up.
    """
    deadline = clock() + wait_seconds
    while True:
        try:
            return retriever.create_index(dimension)
        except ToolUnavailable:
            if clock() + RETRY_SECONDS > deadline:
                raise
            sleep(RETRY_SECONDS)


def main(argv: Sequence[str] | None = None, connect: Connect = aoss_client) -> int:
    """Parse the arguments, create the index, print what happened; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="the collection endpoint (https://…)")
    parser.add_argument("--index", required=True, help="the vector index name")
    parser.add_argument("--region", required=True, help="the collection's AWS region")
    parser.add_argument("--dimension", type=int, default=DEFAULT_DIMENSION, help="vector size")
    parser.add_argument("--wait-seconds", type=float, default=120.0, help="retry refusals so long")
    args = parser.parse_args(argv)
    if args.dimension < 1:
        parser.error(f"--dimension must be positive, not {args.dimension}")
    try:
        retriever = OpenSearchRetriever(connect(args.endpoint, args.region), args.index)
        created = create_when_ready(retriever, args.dimension, args.wait_seconds)
    except (ConfigError, ToolUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    state = "created" if created else "already exists; left unchanged"
    print(f"{args.endpoint}/{args.index}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
