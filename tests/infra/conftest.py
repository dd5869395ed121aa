"""The Terraform tests' marker: `terraform_apply`, the plan, apply and destroy on moto (~60 s,
most of it the AWS provider's own waits for settled attributes)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "terraform_apply: plan, apply and destroy infra/terraform on moto (~60 s)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a run of the whole suite the apply test is skipped, visibly: `make terraform` runs it
    (`pytest -m terraform_apply tests/infra`), as does any run aimed at tests/infra."""
    aimed = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    if aimed and all(path == HERE or HERE in path.parents for path in aimed):
        return
    skip = pytest.mark.skip(reason="slow (~60 s): run by `make terraform` (pytest tests/infra)")
    for item in items:
        if "terraform_apply" in item.keywords:
            item.add_marker(skip)
