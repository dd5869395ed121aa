"""Sequence replay: incidents replayed one after another against one store, so trust must be
earned over the sequence (and can be lost).

A sequence file names dev cases in order, the settings they run under (an autonomy mode, a
bar), and for each step the decision and trust change expected. Each replay is a fresh sandbox
world; only the store, and so the trust record, carries over. The expectations are read only
after the whole sequence has run, and every figure comes from the audit log and the sandbox's
record of mutating calls, never from the healer's account of itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from healer.cases import load_case, read_document
from healer.config import HealerSettings
from healer.errors import CaseError
from healer.replay import replay_case
from healer.store import SqliteStore

SEQUENCES_DIR = Path(__file__).resolve().parent / "sequences"


class Episode(BaseModel):
    """One or more replays of a case, and what each should bring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case: str = Field(description="a dev case id (evals/cases/<id>.yaml)")
    times: int = Field(default=1, ge=1, le=100)
    expect: Literal["auto_heal", "needs_approval"]
    trust: Literal["promoted", "demoted"] | None = Field(
        default=None, description="the trust change the last of these replays should audit"
    )


class Sequence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    settings: dict[str, Any] = Field(default_factory=dict)
    episodes: list[Episode] = Field(min_length=1)


class SequenceStep(BaseModel):
    """What one replay of the sequence did, read from the audit log and the world record."""

    n: int
    case: str
    decision: str | None
    outcome: str | None
    trust_result: str | None
    trust_change: str | None
    trust_why: str | None
    executed: int = Field(description="mutating calls the healer made on the sandbox")
    expected_decision: str
    expected_change: str | None

    @property
    def ok(self) -> bool:
        return (self.decision, self.trust_change) == (self.expected_decision, self.expected_change)


class SequenceRun(BaseModel):
    id: str
    title: str
    steps: list[SequenceStep]
    audit_ok: bool = Field(description="the store's audit log verified after the sequence")

    @property
    def passed(self) -> bool:
        return self.audit_ok and all(step.ok for step in self.steps)

    @property
    def transitions(self) -> list[SequenceStep]:
        return [step for step in self.steps if step.trust_change]


def load_sequence(path: Path) -> Sequence:
    """Read a sequence file; CaseError naming the file and field when it is not one."""
    document = read_document(path)
    try:
        sequence = Sequence.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "$." + ".".join(str(part) for part in first["loc"])
        raise CaseError(f"{path}: {where}: {first['msg']}") from exc
    if sequence.id != path.stem:
        raise CaseError(f"{path}: $.id: {sequence.id!r} does not match the file name")
    return sequence


def sequence_files(folder: Path = SEQUENCES_DIR) -> list[Path]:
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise CaseError(f"no sequences (*.yaml) in {folder}")
    return files


def run_sequence(path: Path, settings: HealerSettings) -> SequenceRun:
    """Replay a sequence's cases in order against one store; score each replay after all ran."""
    sequence = load_sequence(path)
    try:
        merged = HealerSettings.model_validate({**settings.model_dump(), **sequence.settings})
    except ValidationError as exc:
        raise CaseError(f"{path}: $.settings: {exc.errors()[0]['msg']}") from exc
    replays = [
        settings.cases_dir / f"{episode.case}.yaml"
        for episode in sequence.episodes
        for _ in range(episode.times)
    ]
    observed = []
    with tempfile.TemporaryDirectory(prefix="healer-sequence-") as tmp:
        store = SqliteStore(Path(tmp) / "healer.db")
        try:
            for case_path in replays:
                result = replay_case(load_case(case_path), case_path, store, merged)
                observed.append((case_path.stem, result, _audited(store, result)))
            audit_ok = store.verify().ok
        finally:
            store.close()
    expected = [e for e in sequence.episodes for _ in range(e.times)]
    last_of_episode = {
        sum(e.times for e in sequence.episodes[: i + 1]) - 1 for i in range(len(sequence.episodes))
    }
    steps = []
    for n, ((case, result, audited), episode) in enumerate(zip(observed, expected, strict=True)):
        executed = [c for c in result.world_calls if c.origin == "healer"]
        steps.append(
            SequenceStep(
                n=n + 1,
                case=case,
                executed=len(executed),
                expected_decision=episode.expect,
                expected_change=episode.trust if n in last_of_episode else None,
                **audited,
            )
        )
    return SequenceRun(id=sequence.id, title=sequence.title, steps=steps, audit_ok=audit_ok)


def _audited(store: SqliteStore, result: Any) -> dict[str, str | None]:
    """The decision, outcome and trust events of a replay's (single) incident."""
    [incident] = result.incidents
    events = store.events(incident.id)

    def data(kind: str) -> dict[str, Any]:
        return next((e.data for e in events if e.kind == kind), {})

    return {
        "decision": data("governance_decided").get("decision"),
        "outcome": incident.outcome.value if incident.outcome else None,
        "trust_result": data("trust_outcome").get("result"),
        "trust_change": data("trust_changed").get("change"),
        "trust_why": data("trust_changed").get("why"),
    }
