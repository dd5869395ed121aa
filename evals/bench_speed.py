"""How fast the healer starts and heals: CLI start-up, alarm → verified heal, a demo's memory.

Run: `.venv/bin/python -m evals.bench_speed [--baseline DIR] [--json]`.

- CLI: wall time and peak memory (max RSS) of `healer --help`, `incidents list`, `events`
  and `audit verify` on an empty store, median of 7 runs each; with `--baseline DIR` (a
  checkout of an earlier commit) the same commands of that checkout, measured in this run.
- Heal: the disk-full case from its alarm event to a verified heal, in process, each time in
  a freshly seeded sandbox that is already up (its start is not timed); median of 7, with the
  median of each workflow step.
- Demo: peak memory of `healer demo --case dev-disk-full-web`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (["--help"], ["incidents", "list"], ["events"], ["audit", "verify"])
RUNS = 7
CLI = "import sys; from healer.cli import app; sys.argv[0] = 'healer'; app()"


def _timed(args: list[str], checkout: Path, store: Path) -> tuple[float, int]:
    """Wall seconds and the child's max RSS in KiB of one `healer` command of `checkout`."""
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "HEALER_STORE_PATH": str(store / "healer.db"),
        "HEALER_AUDIT_KEY_FILE": str(store / "audit.key"),
        "HEALER_AUDIT_DIGEST_DIR": str(store / "digests"),
    }
    started = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        cwd=store,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as child:
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss


def cli(checkout: Path) -> dict[str, dict[str, float]]:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for args in COMMANDS:
            runs = [_timed(args, checkout, Path(folder)) for _ in range(RUNS)]
            results[" ".join(args)] = {
                "seconds": round(statistics.median(r[0] for r in runs), 3),
                "max_rss_mb": round(statistics.median(r[1] for r in runs) / 1024, 1),
            }
    return results


def heal() -> dict[str, Any]:
    """Alarm → verified heal of the disk-full case, with the sandbox already up."""
    from healer.cases import find_case, load_case
    from healer.config import load_settings
    from healer.intake import Delivery, deliver
    from healer.replay import sandbox_for
    from healer.store import SqliteStore
    from healer.workflow.runner import run_incident

    settings = load_settings()
    path = find_case("dev-disk-full-web", settings.cases_dir)
    case = load_case(path)
    totals: list[float] = []
    steps: dict[str, list[float]] = {}
    outcomes = []
    for _ in range(RUNS + 1):  # the first warms the knowledge base and the imports up
        with (
            SqliteStore(":memory:") as store,
            sandbox_for(case, path, store, settings) as (
                sandbox,
                services,
            ),
        ):
            (_, event), *_ = sandbox.case_events()
            started = time.perf_counter()
            marks: list[tuple[str, float]] = [("ingest", started)]
            (incident_id,) = deliver(services, [Delivery(event, "bench")])
            incident = run_incident(services, incident_id, _marker(marks))
            ended = time.perf_counter()
            outcomes.append(incident.outcome.value if incident.outcome else incident.step.value)
        if len(outcomes) == 1:
            continue
        totals.append(ended - started)
        for (name, at), (_, after) in zip(marks, [*marks[1:], ("end", ended)], strict=True):
            steps.setdefault(name, []).append(after - at)
    return {
        "median_seconds": round(statistics.median(totals), 3),
        "steps_median_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in steps.items()},
        "outcomes": sorted(set(outcomes)),
    }


def _marker(marks: list[tuple[str, float]]) -> Callable[[Any, Any], None]:
    """A step listener noting when each step begins."""
    return lambda _, step: marks.append((step.value, time.perf_counter()))


def demo_memory() -> float:
    """Peak memory (MiB) of a one-case demo."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "HEALER_STORE_PATH": str(Path(folder) / "healer.db")}
        subprocess.run(
            [sys.executable, "-c", CLI, "demo", "--case", "dev-disk-full-web"],
            cwd=folder,
            env={**env, "HEALER_AUDIT_KEY_FILE": str(Path(folder) / "k")},
            stdout=subprocess.DEVNULL,
            check=True,
        )
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of an earlier commit")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"cli": cli(ROOT)}
    if args.baseline:
        result["cli_baseline"] = cli(args.baseline.resolve())
    result["heal"] = heal()
    result["demo_peak_mb"] = demo_memory()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for command, now in result["cli"].items():
        line = f"healer {command}: {now['seconds']} s, {now['max_rss_mb']} MB"
        if "cli_baseline" in result:
            then = result["cli_baseline"][command]
            line += (
                f" (baseline {then['seconds']} s, {then['max_rss_mb']} MB: "
                f"{then['seconds'] / now['seconds']:.1f}× faster)"
            )
        print(line)
    heal_result = result["heal"]
    print(
        f"disk-full heal, alarm → verified, sandbox up: median {heal_result['median_seconds']} s "
        f"{heal_result['outcomes']}; per step (ms): {heal_result['steps_median_ms']}"
    )
    print(f"one-case demo: peak {result['demo_peak_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
