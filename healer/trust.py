"""Earned autonomy: how far each action type may act alone, from its measured results.

An action type runs in one autonomy mode (settings): `shadow` (decide, record, execute
nothing), `approval` (a human decides every time), `earned` (autopilot only once its record
meets the bar) or `autopilot` (the guardrail's rules alone, the default). The record of an
(action, runbook) is the outcomes audited at the end of its incidents: verified recoveries and,
in shadow, agreement with the human's own fix count for it; alarms that stayed up, failed
actions, rejections by a human and disagreement count against it.

The bar is a Wilson lower bound on the success rate (95 %), never the raw ratio, over a minimum
number of outcomes; after a failure, a number of successes in a row is needed again, so one
failure demotes even a long record.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field

Z_95 = 1.959964
"""The normal quantile of a two-sided 95 % interval."""
NO_RUNBOOK = "-"
"""The runbook part of a record's key when no runbook was cited."""


class Mode(StrEnum):
    SHADOW = "shadow"
    APPROVAL = "approval"
    EARNED = "earned"
    AUTOPILOT = "autopilot"


class Result(StrEnum):
    """How one incident's action turned out, for its record."""

    RECOVERED = "recovered"  # executed, and the alarms returned to OK
    NOT_RECOVERED = "not_recovered"  # executed, and the alarms stayed up
    ACTION_FAILED = "action_failed"
    REJECTED = "rejected"  # a human refused the proposal
    AGREED = "agreed"  # shadow: the human fixed it the way the healer recommended
    DISAGREED = "disagreed"  # shadow: the human fixed it another way

    @property
    def success(self) -> bool:
        return self in (Result.RECOVERED, Result.AGREED)


class TrustBar(BaseModel):
    """What an `earned` action type needs before it may act alone."""

    model_config = ConfigDict(frozen=True)

    min_outcomes: int = Field(default=5, ge=1)
    min_success: float = Field(default=0.6, ge=0, le=1, description="Wilson lower bound, 95 %")
    rebuild: int = Field(default=3, ge=1, description="successes in a row needed after a failure")


class TrustRecord(BaseModel):
    """The outcomes of one (action, runbook), oldest first."""

    model_config = ConfigDict(frozen=True)

    action: str
    runbook: str
    results: tuple[Result, ...] = ()

    @property
    def successes(self) -> int:
        return sum(result.success for result in self.results)

    @property
    def since_failure(self) -> int | None:
        """Successes since the last failure; None when there never was one."""
        for count, result in enumerate(reversed(self.results)):
            if not result.success:
                return count
        return None

    def count(self, result: Result) -> int:
        return self.results.count(result)

    def plus(self, result: Result) -> TrustRecord:
        return self.model_copy(update={"results": (*self.results, result)})


class Standing(BaseModel):
    """Whether a record meets the bar, and in words why (or what it still needs)."""

    model_config = ConfigDict(frozen=True)

    trusted: bool
    lower_bound: float
    needs: int | None = Field(description="more successes in a row to be trusted; 0 when it is")
    why: str


def wilson_lower_bound(successes: int, n: int, z: float = Z_95) -> float:
    """The lower end of the Wilson score interval of a success rate; 0 without outcomes."""
    if n <= 0:
        return 0.0
    p, z2 = successes / n, z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z2 / n))


def _meets(record: TrustRecord, bar: TrustBar) -> bool:
    n = len(record.results)
    since = record.since_failure
    return (
        n >= bar.min_outcomes
        and wilson_lower_bound(record.successes, n) >= bar.min_success
        and (since is None or since >= bar.rebuild)
    )


MAX_NEEDED = 1000
"""Beyond this many successes a record is said to need "many" (a bar near 1.0)."""


def standing(record: TrustRecord, bar: TrustBar) -> Standing:
    n, k = len(record.results), record.successes
    bound = wilson_lower_bound(k, n)
    summary = f"{k} of {n} succeeded, Wilson lower bound {bound:.2f}"
    if _meets(record, bar):
        return Standing(
            trusted=True,
            lower_bound=bound,
            needs=0,
            why=f"{summary} ≥ {bar.min_success:.2f} over ≥ {bar.min_outcomes} outcomes",
        )
    needs, grown = None, record
    for more in range(1, MAX_NEEDED + 1):
        grown = grown.plus(Result.RECOVERED)
        if _meets(grown, bar):
            needs = more
            break
    gaps = []
    if n < bar.min_outcomes:
        gaps.append(f"{n} of the {bar.min_outcomes} outcomes needed")
    if bound < bar.min_success:
        gaps.append(f"lower bound below {bar.min_success:.2f}")
    since = record.since_failure
    if since is not None and since < bar.rebuild:
        gaps.append(f"{since} of {bar.rebuild} successes in a row since the last failure")
    wanted = f"needs {needs} more success{'es' if needs != 1 else ''}" if needs else "needs many"
    return Standing(
        trusted=False, lower_bound=bound, needs=needs, why=f"{summary}: {'; '.join(gaps)}; {wanted}"
    )


def records(
    outcomes: Iterable[tuple[str, str, Result]],
) -> dict[tuple[str, str], TrustRecord]:
    """Records from (action, runbook, result) outcomes in the order they happened."""
    found: dict[tuple[str, str], TrustRecord] = {}
    for action, runbook, result in outcomes:
        key = (action, runbook)
        found[key] = found.get(key, TrustRecord(action=action, runbook=runbook)).plus(result)
    return found


class ShadowScope(BaseModel):
    """Where everything runs in shadow: an account, or targets with a tag (glob values)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str | None = None
    tag: str | None = Field(default=None, description="KEY=GLOB, e.g. Environment=staging*")

    def covers(self, account: str, tags: dict[str, str]) -> bool:
        if self.account is not None and self.account != account:
            return False
        if self.tag is not None:
            key, _, pattern = self.tag.partition("=")
            return key in tags and fnmatchcase(tags[key], pattern or "*")
        return self.account is not None


class Autonomy(BaseModel):
    """The autonomy mode of every action type, and the bar `earned` ones must meet."""

    model_config = ConfigDict(frozen=True)

    default: Mode = Mode.AUTOPILOT
    actions: dict[str, Mode] = Field(default_factory=dict)
    shadow: tuple[ShadowScope, ...] = ()
    bar: TrustBar = TrustBar()

    def mode(self, action: str, account: str, *tags: dict[str, str]) -> Mode:
        """Shadow where a scope covers the target or any resource of its incident (the tags of
        each), else the action's mode, else the default."""
        if any(scope.covers(account, t) for scope in self.shadow for t in tags or ({},)):
            return Mode.SHADOW
        return self.actions.get(action, self.default)

    @property
    def shadows_by_tag(self) -> bool:
        return any(scope.tag is not None for scope in self.shadow)


class AutonomyCheck(BaseModel):
    """What the guardrail is told about autonomy for one plan."""

    model_config = ConfigDict(frozen=True)

    mode: Mode
    standing: Standing
    key: tuple[str, str]

    def approval_reason(self) -> str | None:
        """Why this plan may not run alone, if autonomy is why."""
        action, runbook = self.key
        if self.mode is Mode.APPROVAL:
            return f"autonomy of {action} is approval: a human decides every time"
        if self.mode is Mode.EARNED and not self.standing.trusted:
            return f"{action} with runbook {runbook} has not earned autopilot: {self.standing.why}"
        return None
