"""Totals over scored cases, and the thresholds a run must meet."""

from __future__ import annotations

from pathlib import Path
from statistics import median

import yaml
from pydantic import BaseModel

from evals.scoring import CaseScore
from healer.errors import ConfigError

DECISIONS = ["auto_heal", "needs_approval", "escalate", "no_action"]
THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.yaml"
SHADOW_THRESHOLDS_FILE = THRESHOLDS_FILE.with_name("shadow-thresholds.yaml")


class Summary(BaseModel):
    cases: int
    passed: int
    category_accuracy: float
    resources_accuracy: float
    must_mention_coverage: float
    action_accuracy: float
    params_accuracy: float
    decision_accuracy: float
    outcome_accuracy: float
    cost_accuracy: float | None
    unsafe_executions: int
    forbidden_executions: int
    world_mismatches: int = 0
    """Cases whose audit trail and world record disagree ("audit ≠ world")."""
    per_category: dict[str, dict[str, float]]
    decision_confusion: dict[str, dict[str, int]]
    wall_p50_seconds: float
    wall_p95_seconds: float
    wall_total_seconds: float
    model_calls: int
    tool_calls: int
    tokens: int
    input_tokens: int = 0
    output_tokens: int = 0
    healer_mutations: int = 0
    """Mutating calls the healer made on the sandboxes (their world record)."""
    cost_checks: int = 0
    """Cases whose added capacity was costed from what ran (estimate vs actual)."""
    cost_misses: int = 0
    """Of those, the ones whose actual cost missed the estimate by more than the factor."""
    shadow_agreement: float | None = None
    """In shadow mode: the share of cases where what it would have done is the engineers' fix."""


def _rate(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 3) if flags else 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def summarize(scores: list[CaseScore]) -> Summary:
    """Accuracies, safety counts, the decision confusion matrix and latency figures."""
    per_category: dict[str, dict[str, float]] = {}
    for category in sorted({s.expected_category for s in scores}):
        group = [s for s in scores if s.expected_category == category]
        per_category[category] = {
            "cases": len(group),
            "accuracy": _rate([s.category_ok for s in group]),
        }
    confusion = {e: {o: 0 for o in DECISIONS} for e in DECISIONS}
    for s in scores:
        confusion[s.expected_decision][s.observed.decision] += 1
    costs = [s.cost_ok for s in scores if s.cost_ok is not None]
    shadow = bool(scores) and all(s.shadow for s in scores)
    walls = [s.wall_seconds for s in scores]
    return Summary(
        cases=len(scores),
        passed=sum(s.passed for s in scores),
        category_accuracy=_rate([s.category_ok for s in scores]),
        resources_accuracy=_rate([s.resources_ok for s in scores]),
        must_mention_coverage=round(sum(s.must_mention_coverage for s in scores) / len(scores), 3)
        if scores
        else 0.0,
        action_accuracy=_rate([s.action_ok for s in scores]),
        params_accuracy=_rate([s.params_ok for s in scores]),
        decision_accuracy=_rate([s.decision_ok for s in scores]),
        outcome_accuracy=_rate([s.outcome_ok for s in scores]),
        cost_accuracy=_rate(costs) if costs else None,
        unsafe_executions=sum(s.unsafe_execution for s in scores),
        forbidden_executions=sum(len(s.forbidden_executed) for s in scores),
        world_mismatches=sum(bool(s.world_mismatch) for s in scores),
        per_category=per_category,
        decision_confusion=confusion,
        wall_p50_seconds=round(median(walls), 3) if walls else 0.0,
        wall_p95_seconds=_percentile(walls, 0.95),
        wall_total_seconds=round(sum(walls), 3),
        model_calls=sum(s.model_calls for s in scores),
        tool_calls=sum(s.tool_calls for s in scores),
        tokens=sum(s.tokens for s in scores),
        input_tokens=sum(s.input_tokens for s in scores),
        output_tokens=sum(s.output_tokens for s in scores),
        healer_mutations=sum(s.healer_mutations for s in scores),
        cost_checks=sum(s.observed.cost_check is not None for s in scores),
        cost_misses=sum(bool((s.observed.cost_check or {}).get("missed")) for s in scores),
        shadow_agreement=_rate([s.action_ok for s in scores]) if shadow else None,
    )


class ModelRow(BaseModel):
    """One model's line in a comparison: accuracy, safety, and what it cost in tokens and time."""

    model: str
    cases: int
    passed: int
    decision_accuracy: float
    category_accuracy: float
    action_accuracy: float
    outcome_accuracy: float
    unsafe_executions: int
    input_tokens: int
    output_tokens: int
    model_calls: int
    wall_total_seconds: float

    @classmethod
    def of(cls, model: str, summary: Summary) -> ModelRow:
        return cls(model=model, **summary.model_dump(include=set(cls.model_fields) - {"model"}))


class ThresholdResult(BaseModel):
    metric: str
    bound: str
    limit: float
    value: float | None
    ok: bool


def read_thresholds(path: Path) -> dict[str, dict[str, float]]:
    """The bounds of a thresholds file; a ConfigError names what is wrong with it."""
    try:
        rules = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"thresholds file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"thresholds file {path}: not valid YAML") from exc
    if not isinstance(rules, dict):
        raise ConfigError(f"thresholds file {path}: not a mapping of metric to bounds")
    for metric, bounds in rules.items():
        if metric not in Summary.model_fields:
            raise ConfigError(f"thresholds file {path}: unknown metric {metric!r}")
        if not isinstance(bounds, dict) or not set(bounds) <= {"min", "max"}:
            raise ConfigError(f"thresholds file {path}: {metric}: bounds are min and/or max")
    return rules


def check_thresholds(summary: Summary, path: Path = THRESHOLDS_FILE) -> list[ThresholdResult]:
    """Each threshold of the file with the run's value; `ok` is False when it fails."""
    rules = read_thresholds(path)
    results = []
    for metric, bounds in rules.items():
        value = getattr(summary, metric)
        for bound, limit in bounds.items():
            ok = value is not None and (value >= limit if bound == "min" else value <= limit)
            results.append(
                ThresholdResult(metric=metric, bound=bound, limit=limit, value=value, ok=ok)
            )
    return results
