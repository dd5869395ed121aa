"""How the offline diagnostician reads metrics, rival log signatures and unit names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agents.offline.actions import choose_action
from agents.offline.evidence import Evidence
from agents.offline.reasoning import _metric_matches

OPENED = datetime(2026, 12, 7, 3, 30, tzinfo=UTC)
HOST = "i-0123456789abcdef0"
POOL_RUNBOOK: dict[str, Any] = {
    "symptoms": {"signatures": ["pool_exhausted"]},
    "actions": [
        {
            "action": "restart_service",
            "requires": ["pool_exhausted"],
            "unless": ["connection_refused"],
        },
        {"action": None, "decision": "escalate", "when": "the database refuses connections"},
    ],
}
REFUSED = "ERROR could not connect to server: Connection refused"
POOL = "ERROR Connection is not available, request timed out after 30000ms"


def _series(metric: str, values: list[float], baseline: float) -> dict[str, Any]:
    return {
        "namespace": "App",
        "metric": metric,
        "values": values,
        "baseline": baseline,
        "last": values[-1],
        "period": 60,
    }


def _onset(series: dict[str, Any]) -> datetime | None:
    evidence = Evidence(opened_at=OPENED)
    evidence.metrics = [series]
    return evidence.onset()


def test_an_error_count_in_whole_numbers_is_not_pinned_to_its_first_stray_error() -> None:
    errors = _series("ServerErrors", [0, 0, 1, 0, 0, 0, 1, 0, 22, 57, 61], 0.25)
    assert _onset(errors) == OPENED - timedelta(minutes=2)


def test_a_zero_one_status_flag_departs_at_its_first_one() -> None:
    flag = _series("StatusCheckFailed_System", [0, 0, 0, 0, 1, 1], 0.0)
    assert _onset(flag) == OPENED - timedelta(minutes=1)


def test_an_error_rate_is_no_count_a_small_rise_departs() -> None:
    rate = _series("ErrorRate", [0.1, 0.1, 0.2, 0.1, 4.5, 5.2], 0.1)
    assert _onset(rate) == OPENED - timedelta(minutes=1)


def test_an_applications_own_metric_matches_the_symptom_it_counts() -> None:
    wanted = {
        "aws/applicationelb:httpcode_target_5xx_count",
        "aws/applicationelb:targetresponsetime",
    }
    assert _metric_matches(wanted, "Ledger", "ServerErrors")
    assert _metric_matches(wanted, "PaymentsApi", "Http5xxCount")
    assert _metric_matches(wanted, "Ledger", "ResponseTimeP90")
    assert not _metric_matches(wanted, "Ledger", "OrdersPlaced")
    assert not _metric_matches(wanted, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")


def _pool_host(lines: list[tuple[int, str]], **alarm_dimensions: str) -> Evidence:
    evidence = Evidence(opened_at=OPENED)
    dimensions = {"InstanceId": HOST, **alarm_dimensions}
    evidence.alarms = [{"name": "errors", "state": "ALARM", "dimensions": dimensions}]
    evidence.instances[HOST] = {"id": HOST, "type": "m5.large", "asg": "app-asg", "tags": {}}
    evidence.groups["app-asg"] = {"name": "app-asg", "instances": [HOST]}
    evidence.logs = [
        {"time": (OPENED - timedelta(seconds=ago)).isoformat(), "message": line, "stream": HOST}
        for ago, line in lines
    ]
    return evidence


def test_refusals_that_stopped_while_the_pool_stays_stuck_do_not_rule_the_restart_out() -> None:
    evidence = _pool_host([(300, REFUSED), (240, POOL), (20, POOL)], service="orders-api")
    action, recommendation, _ = choose_action(evidence, POOL_RUNBOOK)
    assert recommendation == "act" and action is not None
    assert action["params"]["service"] == "orders-api"


def test_refusals_that_go_on_rule_the_restart_out() -> None:
    lines = [(300, REFUSED), (240, POOL), (60, REFUSED), (20, POOL)]
    evidence = _pool_host(lines, service="orders-api")
    action, recommendation, notes = choose_action(evidence, POOL_RUNBOOK)
    assert (action, recommendation) == (None, "escalate")
    assert "refused" in notes


def test_without_a_unit_in_the_logs_or_the_alarm_nothing_is_restarted() -> None:
    evidence = _pool_host([(240, POOL), (20, POOL)])
    action, recommendation, notes = choose_action(evidence, POOL_RUNBOOK)
    assert (action, recommendation) == (None, "escalate")
    assert "no systemd unit is named" in notes


def test_an_application_log_without_syslog_tags_looks_its_unit_up_by_the_service_tag() -> None:
    evidence = _pool_host([(20, POOL)])
    evidence.instances[HOST]["tags"] = {"Service": "orders-api"}
    assert evidence.unnamed_units() == ["orders-api.service"]
