"""The CLI starts fast: `healer --help` and the read-only commands never import the sandbox
(moto), the agents (strands), the embedder (wordllama) or boto3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("moto", "strands", "wordllama", "boto3", "botocore", "numpy", "jsonschema")

PROBE = """
import json, sys
from typer.testing import CliRunner
from healer.cli import app
result = CliRunner().invoke(app, sys.argv[2:])
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.argv[1])))
print(json.dumps({"exit": result.exit_code, "heavy": heavy, "output": result.output}))
"""


def imported_by(args: list[str], tmp_path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"HEALER_STORE_PATH": str(tmp_path / "healer.db"), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["incidents", "list"],
        ["events"],
        ["audit", "verify"],
        ["incidents", "show", "inc-nothing"],
        ["kb", "--help"],
        ["slack", "manifest"],
        ["eval", "--help"],
        ["run", "--help"],
    ],
)
def test_help_and_read_only_commands_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    seen = imported_by(args, tmp_path)
    assert seen["heavy"] == [], seen
    assert seen["exit"] in (0, 2), seen


def test_the_probe_sees_a_heavy_import_when_one_happens(tmp_path: Path) -> None:
    seen = imported_by(["kb", "search", "disk full", "--k", "1"], tmp_path)
    assert "wordllama" in seen["heavy"], seen


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_does_not_even_import_pydantic(args: list[str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["pydantic"]), *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"HEALER_STORE_PATH": str(tmp_path / "healer.db"), "PATH": "/usr/bin:/bin"},
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["heavy"] == [] and seen["exit"] == 0, seen
