"""What the target is can rule a runbook action out; a unit's start line is looked up when the
incident window does not name it."""

from __future__ import annotations

from typing import Any

from agents.offline.actions import choose_action, target_misfit
from agents.offline.evidence import Evidence

INSTANCE = "i-0123456789abcdef0"
REPLACE_RUNBOOK: dict[str, Any] = {
    "actions": [
        {
            "action": "replace_instance",
            "requires": ["hardware_fault"],
            "unless_target": ["holds_data"],
        },
        {"action": None, "decision": "escalate", "when": "the data lives on it"},
    ]
}
RESIZE_RUNBOOK: dict[str, Any] = {
    "actions": [
        {"action": "resize_instance", "unless_target": ["asg_member"]},
        {"action": None, "decision": "escalate", "when": "the launch template sets the type"},
    ]
}


def _evidence(lines: list[str], tags: dict[str, str] | None = None) -> Evidence:
    evidence = Evidence()
    evidence.alarms = [{"name": "a", "state": "ALARM", "dimensions": {"InstanceId": INSTANCE}}]
    evidence.instances[INSTANCE] = {
        "id": INSTANCE,
        "type": "m5.large",
        "asg": "web-asg",
        "tags": tags or {},
    }
    evidence.groups["web-asg"] = {"name": "web-asg", "instances": [INSTANCE]}
    evidence.logs = [
        {"time": f"2026-12-07T03:{10 + n:02d}:00Z", "message": line, "stream": INSTANCE}
        for n, line in enumerate(lines)
    ]
    return evidence


DISK_ERROR = "kernel: blk_update_request: I/O error, dev nvme1n1, sector 1 op 0x1:(WRITE)"


def test_a_host_fault_on_a_plain_member_is_replaced() -> None:
    action, recommendation, _ = choose_action(_evidence([DISK_ERROR]), REPLACE_RUNBOOK)
    assert recommendation == "act" and action and action["action"] == "replace_instance"


def test_a_stateful_tag_rules_replacement_out() -> None:
    evidence = _evidence([DISK_ERROR], tags={"healer:stateful": "true"})
    action, recommendation, notes = choose_action(evidence, REPLACE_RUNBOOK)
    assert (action, recommendation) == (None, "escalate")
    assert "tagged healer:stateful=true" in notes


def test_a_failing_line_that_names_a_data_directory_rules_replacement_out() -> None:
    failing = "kafka[2210]: ERROR appending to /var/lib/kafka/data: Input/output error"
    action, recommendation, notes = choose_action(_evidence([DISK_ERROR, failing]), REPLACE_RUNBOOK)
    assert (action, recommendation) == (None, "escalate")
    assert "names its data" in notes


def test_a_data_word_on_a_healthy_line_does_not() -> None:
    benign = "batch-worker[2210]: WARN checkpoint write slow: 18.2s"
    action, _, _ = choose_action(_evidence([DISK_ERROR, benign]), REPLACE_RUNBOOK)
    assert action and action["action"] == "replace_instance"


def test_an_asg_member_is_not_resized() -> None:
    action, recommendation, notes = choose_action(_evidence([]), RESIZE_RUNBOOK)
    assert (action, recommendation) == (None, "escalate")
    assert "member of web-asg" in notes


def test_a_standalone_instance_is_resized() -> None:
    evidence = _evidence([])
    evidence.instances[INSTANCE]["asg"] = None
    evidence.groups.clear()
    action, _, _ = choose_action(evidence, RESIZE_RUNBOOK)
    assert action == {
        "action": "resize_instance",
        "target": INSTANCE,
        "params": {"instance_type": "m5.xlarge"},
    }


def test_units_of_failing_processes_are_looked_up_until_named() -> None:
    evidence = _evidence(["orders-api[3120]: ERROR java.lang.OutOfMemoryError: Java heap space"])
    assert evidence.unnamed_units() == ["orders-api.service"]
    evidence.unit_lines = [{"message": "systemd[1]: Started orders-api.service - Orders API."}]
    assert evidence.unnamed_units() == []


def test_kernel_and_systemd_lines_name_no_unit_to_look_up() -> None:
    evidence = _evidence([DISK_ERROR, "systemd[1]: foo.service: Failed with result 'exit-code'."])
    assert evidence.unnamed_units() == []


def test_a_runbook_for_group_members_does_not_fit_a_standalone_instance() -> None:
    evidence = _evidence([DISK_ERROR])
    assert target_misfit(evidence, REPLACE_RUNBOOK) == ""
    evidence.instances[INSTANCE]["asg"] = None
    assert "not in an Auto Scaling group" in target_misfit(evidence, REPLACE_RUNBOOK)


def test_a_runbook_that_excludes_group_members_does_not_fit_one() -> None:
    assert "member of web-asg" in target_misfit(_evidence([]), RESIZE_RUNBOOK)
    holds_data_only = {"actions": [{"action": "replace_instance", "unless_target": ["holds_data"]}]}
    stateful = _evidence([DISK_ERROR], tags={"healer:stateful": "true"})
    assert target_misfit(stateful, holds_data_only) == ""  # data vetoes the action, not the fit


CLEANUP_RUNBOOK: dict[str, Any] = {
    "actions": [{"action": "clear_disk_space", "params": {"paths": ["/var/log/app"]}}]
}


def test_logs_are_cleaned_where_the_failing_lines_say_they_are() -> None:
    lines = [
        'nginx[1]: pwrite() "/var/log/nginx/access.log" failed (28: No space left on device)',
        'kernel: audit: write to "/var/log/audit/audit.log" failed: No space left on device',
    ]
    action, _, _ = choose_action(_evidence(lines), CLEANUP_RUNBOOK)
    assert action and action["params"]["paths"] == ["/var/log/nginx"]  # never the audit log


def test_the_runbook_path_stands_when_no_line_names_one() -> None:
    action, _, _ = choose_action(
        _evidence(["app: write failed: No space left on device"]), CLEANUP_RUNBOOK
    )
    assert action and action["params"]["paths"] == ["/var/log/app"]


def _series(metric: str, values: list[float], baseline: float) -> dict[str, Any]:
    return {"metric": metric, "values": values, "baseline": baseline, "last": values[-1]}


def test_a_count_of_things_that_should_be_there_departs_when_it_falls() -> None:
    gone = _series("procstat_lookup_pid_count", [1, 1, 1] + [0] * 9, 1)
    halved = _series("HealthyHostCount", [4] * 6 + [2] * 6, 4)
    assert Evidence(metrics=[gone, halved]).anomalies() == [gone, halved]


def test_a_small_error_count_that_falls_or_rises_a_little_is_noise() -> None:
    falling = _series("HTTPCode_Target_5XX_Count", [1, 0, 1, 0], 0.5)
    rising = _series("ErrorCount", [1, 2, 1, 2], 1.0)
    assert Evidence(metrics=[falling, rising]).anomalies() == []
