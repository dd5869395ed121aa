"""Put a fresh random audit HMAC key into its secret, unless the secret already has a value.

Run by `terraform apply` (secrets.tf), so the key never enters Terraform's plan or state; safe
to repeat: an existing key is never overwritten (that would orphan the audit chain).
"""

from __future__ import annotations

import argparse
import secrets

import boto3

KEY_BYTES = 48  # 64 URL-safe characters; the healer needs at least 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secret", required=True, help="secret ARN or name")
    parser.add_argument("--region", required=True, help="AWS region")
    args = parser.parse_args()
    client = boto3.client("secretsmanager", region_name=args.region)
    versions = client.list_secret_version_ids(SecretId=args.secret).get("Versions", [])
    if any("AWSCURRENT" in v.get("VersionStages", []) for v in versions):
        print(f"{args.secret}: a key is already set; left unchanged")
        return
    client.put_secret_value(SecretId=args.secret, SecretString=secrets.token_urlsafe(KEY_BYTES))
    print(f"{args.secret}: new audit key set")


if __name__ == "__main__":
    main()
