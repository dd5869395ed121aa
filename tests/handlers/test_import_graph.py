"""The Lambda handlers import no test, sandbox or terminal library (`make package` checks the
built package the same way, with nothing but the package on the path)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ["moto", "wordllama", "rich", "typer", "pytest", "hypothesis", "bm25s", "osmem"]
HANDLERS = ["ingest", "steps", "approval", "slack", "sweeper"]


def test_no_handler_imports_a_test_or_sandbox_library() -> None:
    code = (
        "import json, sys\n"
        f"for name in {HANDLERS!r}: __import__('healer.handlers.' + name)\n"
        f"print(json.dumps([m for m in {FORBIDDEN!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
