"""Knowledge of failure modes is general: no runbook symptom or engine rule is fitted to a case.

A runbook log string that occurs in exactly one replay case (dev or holdout) is that case, not a
failure mode, unless it is an instance of a documented signature the runbook names. Engine code
and signature patterns never name a case, a resource or an alarm.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from knowledge_base.runbooks import Runbook, load_runbooks
from knowledge_base.signatures import default_signatures

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = load_runbooks(ROOT / "runbooks")
LIBRARY = default_signatures()
CASE_FILES = sorted(
    [*(ROOT / "evals" / "cases").glob("*.yaml"), *(ROOT / "evals" / "holdout").glob("*.yaml")]
)
EVENT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+(:[A-Za-z0-9]+)?$")


def _case_logs() -> dict[str, str]:
    """Each case's log text, lower-cased, by case id."""
    logs = {}
    for path in CASE_FILES:
        world = yaml.safe_load(path.read_text(encoding="utf-8"))["world"]
        lines = [str(e[1]) for stream in world.get("logs", []) for e in stream.get("events", [])]
        logs[path.stem] = "\n".join(lines).lower()
    return logs


def _case_names() -> set[str]:
    """Case ids and every resource and alarm name the cases define."""
    names: set[str] = set()
    for path in CASE_FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        world = document["world"]
        names.add(document["id"])
        names |= {i["id"] for i in world.get("instances", [])}
        names |= {g["name"] for g in world.get("autoscaling_groups", [])}
        names |= {a["name"] for a in world.get("alarms", [])}
    return names


def test_runbooks_name_only_known_signatures() -> None:
    known = set(LIBRARY.signatures)
    for runbook in RUNBOOKS:
        assert set(runbook.symptoms.signatures) <= known, runbook.id
        for action in runbook.actions:
            assert set(action.requires) <= known, (runbook.id, action.requires)
            assert set(action.unless) <= known, (runbook.id, action.unless)


def test_runbook_changes_are_cloudtrail_event_names() -> None:
    for runbook in RUNBOOKS:
        names = [
            *runbook.symptoms.changes,
            *(c for a in runbook.actions for c in [*a.after_change, *a.unless_change]),
        ]
        odd = [name for name in names if not EVENT_NAME.match(name)]
        assert not odd, f"{runbook.id}: not an event name (Event or Event:DetailKey): {odd}"


def fitted_strings(runbooks: list[Runbook], logs: dict[str, str]) -> list[str]:
    """Runbook log strings that occur in exactly one case and are no documented signature."""
    fitted = []
    for runbook in runbooks:
        signatures = [LIBRARY.signatures[s] for s in runbook.symptoms.signatures]
        for text in runbook.symptoms.logs:
            cases = [case for case, lines in logs.items() if text.lower() in lines]
            documented = any(s.matches(text) for s in signatures)
            if len(cases) == 1 and not documented:
                fitted.append(f"{runbook.id}: {text!r} occurs only in {cases[0]}")
    return fitted


def test_no_runbook_log_string_fits_exactly_one_case() -> None:
    fitted = fitted_strings(RUNBOOKS, _case_logs())
    assert not fitted, "\n".join(fitted)


def test_the_check_catches_a_string_fitted_to_one_case() -> None:
    logs = _case_logs()
    runbook = next(r for r in RUNBOOKS if r.id == "disk-full-runaway-logs")
    words = [w for w in re.findall(r"[a-z]{9,}", "\n".join(logs.values()))]
    unique = next(
        w
        for w in words
        if sum(w in text for text in logs.values()) == 1
        and not any(LIBRARY.signatures[s].matches(w) for s in runbook.symptoms.signatures)
    )
    symptoms = runbook.symptoms.model_copy(update={"logs": [*runbook.symptoms.logs, unique]})
    fitted = fitted_strings([runbook.model_copy(update={"symptoms": symptoms})], logs)
    assert len(fitted) == 1 and repr(unique) in fitted[0]


def _engine_literals() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "agents" / "offline").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((path.name, node.value))
    return found


@pytest.mark.parametrize("source", ["engine", "signatures"])
def test_no_rule_names_a_case_a_resource_or_an_alarm(source: str) -> None:
    names = {n.lower() for n in _case_names() if len(n) >= 6}
    if source == "engine":
        texts = [f"{file}: {text}" for file, text in _engine_literals()]
    else:
        texts = [
            f"{sid}: {pattern}"
            for sid, signature in LIBRARY.signatures.items()
            for pattern in [*signature.patterns, *signature.terms, *signature.unless]
        ]
    named = [f"{text} names {name}" for text in texts for name in names if name in text.lower()]
    assert not named, "\n".join(named)
