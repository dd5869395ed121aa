"""Build the Lambda package: build/lambda/healer-lambda.zip, from the locked dependencies.

    python infra/lambda/package.py          # build, check the import graph, report the size
    python infra/lambda/package.py --lock   # rewrite requirements.txt from this environment

The package holds the runtime dependencies (requirements.txt: every distribution pinned,
transitive ones included), our packages without the sandbox, the CLI or the evals, and the
runbooks. It is checked by importing every handler from the package alone: a test or sandbox
library (moto, wordllama, rich, pytest, ...) in its import graph fails the build.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LOCK = HERE / "requirements.txt"
BUILD = ROOT / "build" / "lambda"
TOP_LEVEL = [
    "strands-agents",
    "aws-lambda-powertools[tracer]",
    "pydantic",
    "pydantic-settings",
    "PyYAML",
    "slack-sdk",
    "slack-bolt",
    "boto3",
]
OURS = ["healer", "agents", "tools", "knowledge_base"]
LEFT_OUT = ["healer/sandbox", "healer/cli.py", "healer/replay.py", "healer/eval_command.py"]
HANDLERS = ["ingest", "steps", "approval", "slack", "sweeper"]
FORBIDDEN = ["moto", "wordllama", "rich", "typer", "pytest", "hypothesis", "bm25s", "osmem"]
PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp"]


def lock() -> None:
    """Pin every distribution the top-level requirements need, at this environment's versions."""
    pins: dict[str, str] = {}

    def walk(text: str) -> None:
        requirement = Requirement(text)
        dist = metadata.distribution(requirement.name)
        name = dist.metadata["Name"].lower().replace("_", "-")
        if name in pins and not requirement.extras:
            return
        pins[name] = dist.version
        for dep in dist.requires or []:
            needed = Requirement(dep)
            extras = requirement.extras or {""}
            if needed.marker and not any(needed.marker.evaluate({"extra": e}) for e in extras):
                continue
            walk(dep)

    for text in TOP_LEVEL:
        walk(text)
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    header = (
        "# The Lambda package's dependencies, every one pinned (infra/lambda/package.py --lock)\n"
    )
    LOCK.write_text(header + "\n".join(lines) + "\n")


def build() -> Path:
    site = BUILD / "package"
    shutil.rmtree(BUILD, ignore_errors=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:"]
    target = ["--target", str(site), "--python-version", "3.11", *PLATFORM]
    installed = subprocess.run(
        [*pip, *target, "-r", str(LOCK)], capture_output=True, text=True, check=False
    )
    if installed.returncode != 0:
        sys.exit(f"error: pip could not install {LOCK.name}:\n{installed.stderr}")
    for package in OURS:
        shutil.copytree(
            ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for left_out in LEFT_OUT:
        path = site / left_out
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(ROOT / "runbooks", site / "runbooks", ignore=shutil.ignore_patterns("drafts"))
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache)
    archive = BUILD / "healer-lambda.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zipped:
        for path in sorted(site.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(site))
    return archive


CHECK = """
import json, sys, time
start = time.perf_counter()
for name in {modules}:
    __import__(name)
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "forbidden": [m for m in {forbidden} if m in sys.modules]}}))
"""


def check(site: Path, modules: list[str], runs: int = 5) -> dict[str, float]:
    """Import `modules` from the package alone (`-I -S`: no site-packages), `runs` times, each
    in a fresh interpreter; exit 2 if a forbidden library comes with them."""
    code = CHECK.format(modules=modules, forbidden=FORBIDDEN)
    env = {"PYTHONPATH": str(site), "POWERTOOLS_TRACE_DISABLED": "true", "PATH": "/usr/bin:/bin"}
    seconds = []
    for _ in range(runs):
        done = subprocess.run(
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                f"import sys; sys.path.insert(0, {str(site)!r}); {code}",
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["forbidden"]:
            print(f"error: the Lambda package imports {', '.join(result['forbidden'])}")
            sys.exit(2)
        seconds.append(result["seconds"])
    return {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", action="store_true", help="rewrite requirements.txt")
    if parser.parse_args().lock:
        lock()
        return
    started = time.monotonic()
    archive = build()
    site = BUILD / "package"
    unzipped = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    imports = check(site, [f"healer.handlers.{name}" for name in HANDLERS])
    boto3 = check(site, ["boto3"])  # the baseline every Python Lambda pays
    mib = 1024 * 1024
    print(
        f"{archive.relative_to(ROOT)}: {archive.stat().st_size / mib:.1f} MiB zipped,"
        f" {unzipped / mib:.1f} MiB unzipped (Lambda limits: 50 and 250); built in"
        f" {time.monotonic() - started:.0f} s\ncold import of every handler: median"
        f" {imports['median']:.2f} s (min {imports['min']:.2f}, max {imports['max']:.2f}; 5 fresh"
        f" interpreters); boto3 alone {boto3['median']:.2f} s; ratio"
        f" {imports['median'] / boto3['median']:.1f}"
    )


if __name__ == "__main__":
    main()
