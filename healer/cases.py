"""Replay cases: load, validate and hand out only what the healer may see.

A case file holds the world the sandbox shows (`world`, `events`, `human`, `effects`) and the
scorer's key (`expected`, `source`, `notes`). `load_case` returns the first part only; the key
is read by `load_answer_key`, for the scorer, after a replay has ended.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from healer.domain import ActionId, AlarmState
from healer.errors import CaseError

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_HEALER_VISIBLE = ("id", "title", "tags", "world", "events", "human", "effects")
_MAX_REPORTED_ERRORS = 5

InstanceState = Literal["running", "stopped", "terminated", "impaired"]
Statistic = Literal["Average", "Sum", "Minimum", "Maximum", "SampleCount"]
Comparison = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]


class CaseInstance(BaseModel):
    """An EC2 instance of the case's world."""

    model_config = _FROZEN

    id: str
    type: str
    az: str | None = None
    state: InstanceState = "running"
    asg: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class CaseAsg(BaseModel):
    """An auto scaling group of the case's world."""

    model_config = _FROZEN

    name: str
    min: int
    max: int
    desired: int
    instance_type: str
    launch_template_version: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class CaseAlarm(BaseModel):
    """A CloudWatch metric alarm as configured in the account."""

    model_config = _FROZEN

    name: str
    namespace: str
    metric: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    statistic: Statistic = "Average"
    period: int = 60
    evaluation_periods: int = 1
    threshold: float
    comparison: Comparison
    state: AlarmState
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class CaseSeries(BaseModel):
    """A metric series: one value per period, the last one at offset 0 (or at the action)."""

    model_config = _FROZEN

    namespace: str
    metric: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    period: int = 60
    values: list[float]

    def same_metric(self, namespace: str, metric: str, dimensions: dict[str, str]) -> bool:
        """Whether this series is the given metric (namespace, name and dimensions)."""
        return (self.namespace, self.metric, self.dimensions) == (namespace, metric, dimensions)


class CaseLogStream(BaseModel):
    """A CloudWatch Logs stream with `(offset_seconds, message)` events."""

    model_config = _FROZEN

    group: str
    stream: str = "default"
    events: list[tuple[float, str]] = Field(default_factory=list)


class CaseChange(BaseModel):
    """A recent change in the account (deploy, config edit)."""

    model_config = _FROZEN

    at: float
    actor: str = "unknown"
    action: str
    resource: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class CaseWorld(BaseModel):
    """The sandbox AWS account at offset 0."""

    model_config = _FROZEN

    region: str = "us-east-1"
    account: str = "123456789012"
    instances: list[CaseInstance] = Field(default_factory=list)
    autoscaling_groups: list[CaseAsg] = Field(default_factory=list)
    alarms: list[CaseAlarm] = Field(default_factory=list)
    metrics: list[CaseSeries] = Field(default_factory=list)
    logs: list[CaseLogStream] = Field(default_factory=list)
    changes: list[CaseChange] = Field(default_factory=list)
    prices: dict[str, float] = Field(default_factory=dict)

    def alarm(self, name: str) -> CaseAlarm | None:
        """The alarm called `name`, or None."""
        return next((alarm for alarm in self.alarms if alarm.name == name), None)


class CaseEvent(BaseModel):
    """What reaches the healer: an alarm state change built by the sandbox, or a raw event."""

    model_config = _FROZEN

    at: float
    alarm: str | None = None
    state: AlarmState | None = None
    raw: Any = None


class CaseHuman(BaseModel):
    """The simulated approver."""

    model_config = _FROZEN

    decision: Literal["approve", "reject", "timeout"] = "timeout"
    user: str | None = None


class CaseEffectWhen(BaseModel):
    """Which healer action triggers an effect; absent target/params match anything."""

    model_config = _FROZEN

    action: ActionId
    target: str | None = None
    params: dict[str, Any] | None = None


class CaseEffectThen(BaseModel):
    """How the world changes after a matching action."""

    model_config = _FROZEN

    alarms: dict[str, AlarmState] = Field(default_factory=dict)
    metrics: list[CaseSeries] = Field(default_factory=list)
    logs: list[CaseLogStream] = Field(default_factory=list)


class CaseEffect(BaseModel):
    """One reaction of the world to a healer action."""

    model_config = _FROZEN

    when: CaseEffectWhen
    then: CaseEffectThen


class Case(BaseModel):
    """The healer-visible part of a replay case (never `expected`, `source` or `notes`)."""

    model_config = _FROZEN

    id: str
    title: str
    tags: list[str] = Field(default_factory=list)
    world: CaseWorld
    events: list[CaseEvent]
    human: CaseHuman | None = None
    effects: list[CaseEffect] = Field(default_factory=list)


def load_case(path: Path) -> Case:
    """Read and validate a case file; return only what the healer may see.

    Args:
        path: The case's YAML file (named `<id>.yaml`).

    Returns:
        The case without its answer key.

    Raises:
        CaseError: The file is missing, is not YAML, or does not validate; the message names
            the file and the JSON path of the bad field.
    """
    document = _read_valid(path)
    visible = {key: document[key] for key in _HEALER_VISIBLE if key in document}
    try:
        return Case.model_validate(visible)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "$." + ".".join(str(part) for part in first["loc"])
        raise CaseError(f"{path}: {where}: {first['msg']}") from exc


def load_answer_key(path: Path) -> dict[str, Any]:
    """Read a case's answer key, for the scorer only.

    Args:
        path: The case's YAML file.

    Returns:
        `{"id", "expected", "source", "notes"}`; `source` and `notes` are None when absent.

    Raises:
        CaseError: The file does not validate.
    """
    document = _read_valid(path)
    return {
        "id": document["id"],
        "expected": document["expected"],
        "source": document.get("source"),
        "notes": document.get("notes"),
    }


def find_case(id_or_path: str, cases_dir: Path) -> Path:
    """Resolve a case given as a file path or as a case id (`<cases_dir>/<id>.yaml`).

    Raises:
        CaseError: Neither a file nor a known id; the message lists the available ids.
    """
    candidate = Path(id_or_path)
    if candidate.is_file():
        return candidate
    by_id = cases_dir / f"{id_or_path}.yaml"
    if by_id.is_file():
        return by_id
    available = sorted(p.stem for p in cases_dir.glob("*.yaml")) if cases_dir.is_dir() else []
    listing = ", ".join(available) if available else "(none)"
    raise CaseError(
        f"no case {id_or_path!r}: not a file and not an id in {cases_dir}; available: {listing}"
    )


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: `*ref` lets a kilobyte expand to gigabytes (an alias bomb)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise CaseError(
                f"line {mark.line + 1}: YAML aliases (*name) are not allowed in a case;"
                " write the value out"
            )
        return super().compose_node(parent, index)


def _non_finite(value: Any, at: str = "$") -> str | None:
    """The JSON path of the first NaN or infinite number in a document, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return at
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _non_finite(item, f"{at}[{key}]" if isinstance(key, int) else f"{at}.{key}")
        if found:
            return found
    return None


def read_document(path: Path) -> Any:
    """A YAML file as data: at most `MAX_CASE_BYTES`, UTF-8, no aliases, finite numbers.

    Raises:
        CaseError: naming the file and what is wrong with it.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaseError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_CASE_BYTES:
        raise CaseError(f"{path}: larger than {MAX_CASE_BYTES // 2**20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError(
            f"{path}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from exc
    try:
        document = yaml.load(text, Loader=_NoAliasLoader)
    except CaseError as exc:
        raise CaseError(f"{path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    bad_number = _non_finite(document)
    if bad_number:
        raise CaseError(f"{path}: {bad_number}: not a finite number")
    return document


def _read_valid(path: Path) -> dict[str, Any]:
    document = read_document(path)
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        shown = "; ".join(f"{e.json_path}: {e.message}" for e in errors[:_MAX_REPORTED_ERRORS])
        more = len(errors) - _MAX_REPORTED_ERRORS
        suffix = f" (and {more} more)" if more > 0 else ""
        raise CaseError(f"{path}: {shown}{suffix}")
    if document["id"] != path.stem:
        raise CaseError(f"{path}: $.id: {document['id']!r} does not match the file name")
    return dict(document)


MAX_CASE_BYTES = 64 * 2**20


@functools.cache
def _validator() -> Draft202012Validator:
    schema_text = resources.files("evals").joinpath("case.schema.json").read_text("utf-8")
    schema = json.loads(schema_text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
