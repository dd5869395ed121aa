"""Noise control: which alarm events open nothing, and why.

Every rule returns the reason it suppressed an event; ingest records it with the event, so a
suppression is never silent. The rules, in order: suppression patterns (alarm name or a resource
it names), maintenance windows, then flapping (too many state changes of one alarm in a window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MaintenanceWindow(BaseModel):
    """A planned window in which alarms on matching names or resources open nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    start: datetime
    end: datetime
    match: tuple[str, ...] = Field(min_length=1, description="glob patterns: alarms or resources")

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"maintenance window {self.name}: start and end need a time zone")
        if self.end <= self.start:
            raise ValueError(f"maintenance window {self.name}: end is not after start")
        return self


@dataclass(frozen=True)
class NoiseRules:
    """What ingest suppresses besides duplicates and stale or non-ALARM transitions."""

    suppress: tuple[str, ...] = ()
    """Glob patterns on alarm names and resources (`*-canary-*`, `i-0abc*`)."""
    maintenance: tuple[MaintenanceWindow, ...] = ()
    flap_transitions: int = 6
    """State changes of one alarm within `flap_window` from which it counts as flapping."""
    flap_window: timedelta = field(default=timedelta(hours=1))

    def suppressed(self, alarm: str, resources: list[str], at: datetime) -> str | None:
        """Why a rule suppresses this alarm now, or None."""
        names = [alarm, *resources]
        for pattern in self.suppress:
            hit = next((name for name in names if fnmatchcase(name, pattern)), None)
            if hit is not None:
                return f"suppressed by rule {pattern!r} ({hit})"
        for window in self.maintenance:
            if window.start <= at < window.end:
                hit = next((n for n in names for p in window.match if fnmatchcase(n, p)), None)
                if hit is not None:
                    return (
                        f"maintenance window {window.name} until "
                        f"{window.end.isoformat(timespec='minutes')} ({hit})"
                    )
        return None

    def flapping(self, alarm: str, transitions: int) -> str | None:
        """Why the alarm counts as flapping after `transitions` changes in the window, or None."""
        if transitions < self.flap_transitions:
            return None
        minutes = int(self.flap_window.total_seconds() // 60)
        return (
            f"flapping: {alarm} changed state {transitions} times in {minutes} min; "
            "the incident it opened has it"
        )
