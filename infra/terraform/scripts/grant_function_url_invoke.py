"""Allow a function's public URL to invoke it: `lambda:InvokeFunction` for `*`, only through the
function URL (`InvokedViaFunctionUrl`), which the Terraform AWS provider 5.x cannot express.

Run by `terraform apply` (lambda.tf); safe to repeat.
"""

from __future__ import annotations

import argparse

import boto3

STATEMENT_ID = "InvokeOnlyThroughTheFunctionUrl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--function", required=True, help="function name")
    parser.add_argument("--region", required=True, help="AWS region")
    args = parser.parse_args()
    client = boto3.client("lambda", region_name=args.region)
    try:
        client.add_permission(
            FunctionName=args.function,
            StatementId=STATEMENT_ID,
            Action="lambda:InvokeFunction",
            Principal="*",
            InvokedViaFunctionUrl=True,
        )
    except client.exceptions.ResourceConflictException:
        print(f"{args.function}: {STATEMENT_ID} already present")
        return
    print(f"{args.function}: {STATEMENT_ID} added")


if __name__ == "__main__":
    main()
