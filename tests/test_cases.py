"""Replay-case loading: schema validation, the honesty rule, lookup by id."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from healer.cases import Case, find_case, load_answer_key, load_case
from healer.errors import CaseError

ROOT = Path(__file__).resolve().parents[1]
CASES_DIR = ROOT / "evals" / "cases"
SPEC_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "spec" / "examples"
DISK_CASE = CASES_DIR / "dev-disk-full-web.yaml"


def _write_case(tmp_path: Path, document: dict[str, object]) -> Path:
    path = tmp_path / f"{document['id']}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _disk_document() -> dict[str, object]:
    document: dict[str, object] = yaml.safe_load(DISK_CASE.read_text(encoding="utf-8"))
    return document


PROJECT_CASES = sorted([*CASES_DIR.glob("*.yaml"), *(ROOT / "evals" / "holdout").glob("*.yaml")])


@pytest.mark.parametrize("path", PROJECT_CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_project_case_loads(path: Path) -> None:
    case = load_case(path)
    assert case.id == path.stem
    assert case.events


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="spec examples not on this machine")
def test_the_schema_copy_accepts_every_spec_example() -> None:
    examples = sorted(SPEC_EXAMPLES.glob("*.yaml"))
    assert examples
    for example in examples:
        assert load_case(example).id == example.stem


def test_case_holds_only_what_the_healer_may_see() -> None:
    case = load_case(DISK_CASE)
    assert set(Case.model_fields) == {
        "id",
        "title",
        "tags",
        "world",
        "events",
        "human",
        "effects",
    }
    for hidden in ("expected", "source", "notes"):
        assert not hasattr(case, hidden)
        assert hidden not in case.model_dump()


def test_answer_key_is_read_separately_for_the_scorer() -> None:
    key = load_answer_key(DISK_CASE)
    assert key["id"] == "dev-disk-full-web"
    assert key["expected"]["remediation"]["action"] == "clear_disk_space"
    assert key["source"]["kind"] == "original"
    assert key["notes"].startswith("Autopilot")


def test_a_bad_field_is_named_with_its_json_path(tmp_path: Path) -> None:
    document = _disk_document()
    document["world"]["instances"][0]["id"] = "web-1"  # type: ignore[index]
    path = _write_case(tmp_path, document)
    with pytest.raises(CaseError) as caught:
        load_case(path)
    message = str(caught.value)
    assert str(path) in message
    assert "$.world.instances[0].id" in message


def test_a_missing_required_field_is_reported(tmp_path: Path) -> None:
    document = _disk_document()
    del document["expected"]
    path = _write_case(tmp_path, document)
    with pytest.raises(CaseError, match="'expected' is a required property"):
        load_case(path)


def test_an_unknown_action_in_effects_is_rejected(tmp_path: Path) -> None:
    document = _disk_document()
    document["effects"][0]["when"]["action"] = "reboot_everything"  # type: ignore[index]
    path = _write_case(tmp_path, document)
    with pytest.raises(CaseError, match=r"\$\.effects\[0\]\.when\.action"):
        load_case(path)


def test_invalid_yaml_and_missing_files_are_case_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken-case.yaml"
    broken.write_text("world: [unclosed", encoding="utf-8")
    with pytest.raises(CaseError, match="not valid YAML"):
        load_case(broken)
    with pytest.raises(CaseError, match="cannot read"):
        load_case(tmp_path / "absent.yaml")


def test_the_file_name_must_be_the_case_id(tmp_path: Path) -> None:
    path = tmp_path / "another-name.yaml"
    path.write_text(DISK_CASE.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(CaseError, match="does not match the file name"):
        load_case(path)


def test_spec_defaults_are_filled(tmp_path: Path) -> None:
    document = {
        "schema_version": 1,
        "id": "minimal-case",
        "title": "Minimal",
        "world": {
            "instances": [{"id": "i-0123456789abcdef0", "type": "t3.micro"}],
            "alarms": [
                {
                    "name": "cpu",
                    "namespace": "AWS/EC2",
                    "metric": "CPUUtilization",
                    "threshold": 80,
                    "comparison": "GreaterThanThreshold",
                    "state": "ALARM",
                }
            ],
            "metrics": [{"namespace": "AWS/EC2", "metric": "CPUUtilization", "values": [1]}],
            "logs": [{"group": "/app", "events": [[0, "hello"]]}],
        },
        "events": [{"at": 0, "alarm": "cpu"}],
        "expected": {
            "root_cause": {"category": "unknown"},
            "remediation": {"action": "none"},
            "governance": {"decision": "escalate"},
            "outcome": "escalated",
        },
    }
    case = load_case(_write_case(tmp_path, document))
    world = case.world
    assert (world.region, world.account) == ("us-east-1", "123456789012")
    assert world.instances[0].state == "running"
    assert (world.alarms[0].statistic, world.alarms[0].period) == ("Average", 60)
    assert world.metrics[0].period == 60
    assert world.logs[0].stream == "default"
    assert case.human is None
    assert case.effects == []


def test_find_case_by_id_and_by_path() -> None:
    assert find_case("dev-disk-full-web", CASES_DIR) == CASES_DIR / "dev-disk-full-web.yaml"
    assert find_case(str(DISK_CASE), CASES_DIR) == DISK_CASE


def test_find_case_lists_the_available_ids_when_unknown() -> None:
    with pytest.raises(CaseError) as caught:
        find_case("no-such-case", CASES_DIR)
    assert "dev-disk-full-web" in str(caught.value)
    assert "dev-traffic-surge-api" in str(caught.value)
