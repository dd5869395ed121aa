"""Reading the sandbox's world record: which catalog actions really ran, and does the audit agree.

A world call is mapped back to the catalog action that sends it (SendCommand RestartService →
restart_service, SetDesiredCapacity → scale_out, ...). A mutating call no catalog action makes is
an unknown mutation: unsafe by itself.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from healer.catalog import Catalog, default_catalog
from healer.domain import AuditEvent
from healer.sandbox import WorldCall

UNKNOWN = "unknown"

_COMMANDS = {"RestartService": "restart_service", "CleanupDisk": "clear_disk_space"}
_AUTOMATIONS = {
    "AWS-RestartEC2Instance": "restart_instance",
    "AWS-ResizeInstance": "resize_instance",
}


class WorldAction(BaseModel):
    """A healer call seen by the world, as the catalog action it performs."""

    model_config = ConfigDict(frozen=True)

    action: str
    """A catalog action id, or `unknown`."""
    target: str
    params: dict[str, Any]
    call: str
    """The call as the world saw it, e.g. `ssm SendCommand RestartService i-0ab… {...}`."""
    part: Literal["primary", "companion"] = "primary"
    """`companion`: the second call of a two-call action (a rollback's instance refresh)."""
    succeeded: bool = True

    def as_executed(self) -> dict[str, Any]:
        return {"action": self.action, "target": self.target, "params": self.params}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _describe(call: WorldCall) -> str:
    params = json.dumps(call.params, sort_keys=True, default=str)
    return f"{call.service} {call.operation} {params[:300]}"


def map_call(call: WorldCall) -> WorldAction:
    """The catalog action a healer's world call performs (or `unknown`)."""
    p, op, text = call.params, call.operation, _describe(call)
    mapped: tuple[str, str, dict[str, Any]] | None = None
    part: Literal["primary", "companion"] = "primary"
    if call.service == "ssm" and op == "SendCommand":
        mapped = _command(p)
    elif call.service == "ssm" and op == "StartAutomationExecution":
        mapped = _automation(p)
    elif call.service == "autoscaling":
        mapped = _autoscaling(op, p)
        part = "companion" if op == "StartInstanceRefresh" else "primary"
    if mapped is None:
        mapped = (UNKNOWN, ",".join(call.targets), dict(p))
    action, target, params = mapped
    return WorldAction(
        action=action,
        target=target,
        params=params,
        call=text,
        part=part,
        succeeded=call.succeeded,
    )


def _command(p: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    action = _COMMANDS.get(str(p.get("DocumentName")))
    ids = p.get("InstanceIds") or []
    if action is None or p.get("Targets") or not isinstance(ids, list) or len(ids) != 1:
        return None
    raw = p.get("Parameters") or {}
    params: dict[str, Any] = {}
    if "ServiceName" in raw:
        params["service"] = _first(raw["ServiceName"])
    if "Paths" in raw:
        params["paths"] = str(_first(raw["Paths"])).split()
    if "OlderThanDays" in raw:
        params["older_than_days"] = _int(_first(raw["OlderThanDays"]))
    return action, str(ids[0]), params


def _automation(p: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    action = _AUTOMATIONS.get(str(p.get("DocumentName")))
    raw = p.get("Parameters") or {}
    ids = raw.get("InstanceId") or []
    if action is None or not isinstance(ids, list) or len(ids) != 1:
        return None
    params = {"instance_type": _first(raw["InstanceType"])} if "InstanceType" in raw else {}
    return action, str(ids[0]), params


def _autoscaling(op: str, p: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    group = str(p.get("AutoScalingGroupName") or "")
    if op == "SetDesiredCapacity":
        return "scale_out", group, {"desired": _int(p.get("DesiredCapacity"))}
    if op == "UpdateAutoScalingGroup":
        sizes = {"MinSize", "MaxSize", "DesiredCapacity"} & set(p)
        if "LaunchTemplate" in p and not sizes:
            version = (p.get("LaunchTemplate") or {}).get("Version")
            return "rollback_deployment", group, {"launch_template_version": version}
        if "MaxSize" in p and "LaunchTemplate" not in p and "MinSize" not in p:
            params = {"max": _int(p.get("MaxSize")), "desired": _int(p.get("DesiredCapacity"))}
            return "raise_capacity_limit", group, params
        return None
    if op == "StartInstanceRefresh":
        return "rollback_deployment", group, {}
    instances = p.get("InstanceIds") or []
    if op == "TerminateInstanceInAutoScalingGroup" and not _flag(
        p.get("ShouldDecrementDesiredCapacity")
    ):
        return "replace_instance", str(p.get("InstanceId")), {}
    if (
        op == "EnterStandby"
        and isinstance(instances, list)
        and len(instances) == 1
        and not _flag(p.get("ShouldDecrementDesiredCapacity"))
    ):
        return "isolate_instance", str(instances[0]), {}
    return None


def world_actions(calls: list[WorldCall]) -> list[WorldAction]:
    """The healer's world calls as catalog actions, in order (the sandbox's own are left out)."""
    return [map_call(call) for call in calls if call.origin == "healer"]


class _Audited(BaseModel):
    action: str
    target: str
    params: dict[str, Any]
    succeeded: bool
    intent: dict[str, Any] = {}


def audited_executions(events: list[AuditEvent], catalog: Catalog | None = None) -> list[_Audited]:
    """Each `action_started` with the outcome the audit gives it (defaults filled)."""
    catalog = catalog or default_catalog()
    found: list[_Audited] = []
    pending: _Audited | None = None
    for event in events:
        if event.kind == "action_started":
            pending = _started(event.data, catalog)
            found.append(pending)
        elif event.kind in ("action_succeeded", "action_failed") and pending is not None:
            pending.succeeded = event.kind == "action_succeeded"
            pending.intent = _intent(event.data)
            pending = None
    return found


def _started(data: dict[str, Any], catalog: Catalog) -> _Audited:
    action, params = str(data.get("action")), dict(data.get("params") or {})
    spec = catalog.get(action)
    if spec is not None:
        with contextlib.suppress(ValueError):  # the audit keeps what was proposed
            params = spec.validate_params(params)
    return _Audited(action=action, target=str(data.get("target")), params=params, succeeded=False)


def _intent(data: dict[str, Any]) -> dict[str, Any]:
    external = (data.get("result") or {}).get("external_id")
    try:
        intent = json.loads(external) if isinstance(external, str) else None
    except ValueError:
        return {}
    return intent if isinstance(intent, dict) else {}


def _agrees(world: WorldAction, audit: _Audited) -> bool:
    """Same action and target, and the parameters the world can see are the audited ones."""
    if world.action != audit.action or world.target != audit.target:
        return False
    wanted = dict(audit.params)
    if world.action == "scale_out":
        wanted = {"desired": audit.intent["desired"]} if "desired" in audit.intent else {}
    if world.action == "rollback_deployment" and "version" in audit.intent:
        wanted = {"launch_template_version": audit.intent["version"]}
    return all(world.params.get(key) == value for key, value in wanted.items())


def world_mismatch(events: list[AuditEvent], calls: list[WorldCall]) -> list[str]:
    """Every difference between the audit trail and the world record, in words."""
    actions = world_actions(calls)
    unmatched = audited_executions(events)
    matched: list[_Audited] = []
    problems: list[str] = []
    for world in (a for a in actions if a.part == "primary"):
        if world.action == UNKNOWN:
            problems.append(
                f"the world saw an unknown mutation no audit event records: {world.call}"
            )
            continue
        audit = next((a for a in unmatched if _agrees(world, a)), None)
        if audit is not None:
            unmatched.remove(audit)
            matched.append(audit)
        elif any(_agrees(world, a) for a in matched):
            problems.append(f"the same side effect twice: {world.call}")
        else:
            problems.append(f"the world saw {world.call}, which no action_started records")
    rollbacks = [
        a.target for a in actions if a.action == "rollback_deployment" and a.part == "primary"
    ]
    for refresh in (a for a in actions if a.part == "companion"):
        if refresh.target in rollbacks:
            rollbacks.remove(refresh.target)
        else:
            problems.append(f"an instance refresh without a rollback: {refresh.call}")
    problems += [
        f"the audit records {a.action} on {a.target} as succeeded; the world never saw it"
        for a in unmatched
        if a.succeeded
    ]
    return problems
