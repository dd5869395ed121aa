"""What the target is can rule a runbook action out; a unit's start line is looked up when the
incident window does not name it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agents.offline.actions import choose_action, target_misfit
from agents.offline.evidence import Evidence
from agents.offline.facts import fleet_fact_queries

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


def test_unhealthy_hosts_leaving_zero_depart_though_the_count_is_small() -> None:
    unhealthy = _series("UnHealthyHostCount", [0] * 7 + [2, 4, 4, 4, 4], 0)
    assert Evidence(metrics=[unhealthy]).anomalies() == [unhealthy]


def test_an_error_count_departs_where_it_leaves_its_noise_not_at_the_window_start() -> None:
    errors = _series("HTTPCode_Target_5XX_Count", [1, 9, 1, 8, 40, 45], 2)
    opened = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert Evidence(metrics=[errors], opened_at=opened).onset() == opened - timedelta(minutes=1)


def _fleet(zones: dict[str, str], impaired: set[str], runbook_categories: list[str]) -> Evidence:
    evidence = Evidence(runbooks=[{"category": c, "actions": []} for c in runbook_categories])
    for instance, zone in zones.items():
        checks = {"system": "impaired" if instance in impaired else "ok"}
        evidence.instances[instance] = {"id": instance, "az": zone, "status_checks": checks}
    return evidence


def test_a_zonal_fault_asks_for_the_zonal_runbook_when_none_was_retrieved() -> None:
    zones = {"i-01": "z-a", "i-02": "z-a", "i-03": "z-b", "i-04": "z-b"}
    evidence = _fleet(zones, {"i-01", "i-02"}, ["network_issue"])
    assert [q for q in fleet_fact_queries(evidence) if "Availability Zone z-a" in q]
    assert fleet_fact_queries(_fleet(zones, {"i-01", "i-02"}, ["az_impairment"])) == []


def test_one_impaired_host_asks_for_the_status_check_runbooks() -> None:
    zones = {"i-01": "z-a", "i-02": "z-a", "i-03": "z-b"}
    assert [q for q in fleet_fact_queries(_fleet(zones, {"i-03"}, [])) if "status checks" in q]
    assert fleet_fact_queries(_fleet(zones, {"i-03"}, ["instance_failure"])) == []
    assert fleet_fact_queries(_fleet(zones, set(), [])) == []
