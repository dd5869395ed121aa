"""The sandbox's own record of the world: every mutating call the account received.

The record is kept on the server side (a WSGI middleware in front of moto) and by the in-process
stand-ins for what moto lacks (SSM Automation, Instance Refresh), so a healer cannot skip or
forge it. Calls signed with the sandbox's own secret header (seeding, effects, the stand-ins'
inner calls) are labelled `sandbox`; every other call is the healer's.
"""

from __future__ import annotations

import io
import json
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field

ORIGIN_HEADER = "x-healer-sandbox-origin"
"""The header the sandbox's own clients carry; its value is a per-sandbox secret."""

READ_PREFIXES = ("Describe", "Get", "List", "Filter", "Search", "Lookup", "Query", "BatchGet")
READ_OPERATIONS = frozenset({"StartQuery", "StopQuery"})
"""Logs Insights queries read; starting or stopping one changes nothing in the account."""

_TARGET_KEYS = ("InstanceIds", "InstanceId", "AutoScalingGroupName", "AlarmName", "AlarmNames")
_SCOPE_SERVICES = {"monitoring": "cloudwatch"}

Origin = Literal["healer", "sandbox"]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WorldCall(BaseModel):
    """One mutating call the sandbox account received."""

    model_config = ConfigDict(frozen=True)

    service: str
    operation: str
    targets: tuple[str, ...] = ()
    params: dict[str, Any] = Field(default_factory=dict)
    at: datetime
    origin: Origin
    status: int | None = None
    """The HTTP status moto answered (None for an in-process stand-in)."""

    @property
    def succeeded(self) -> bool:
        return self.status is None or 200 <= self.status < 300


def is_mutating(operation: str) -> bool:
    """Every operation that is not a read (by its name) changes the world."""
    return operation not in READ_OPERATIONS and not operation.startswith(READ_PREFIXES)


def targets_of(params: dict[str, Any]) -> tuple[str, ...]:
    """The resources a call names (instance ids, group names, alarm names), also inside SSM
    `Parameters`."""
    nested = params.get("Parameters")
    found: list[str] = []
    for source in (params, nested if isinstance(nested, dict) else {}):
        for key in _TARGET_KEYS:
            value = source.get(key)
            values = value if isinstance(value, list) else [value] if value is not None else []
            found += [str(v) for v in values if str(v) not in found]
    return tuple(found)


class WorldRecorder:
    """A thread-safe, append-only list of world calls; records only while `recording`."""

    def __init__(self) -> None:
        self.secret = secrets.token_hex(16)
        self.recording = False
        self._lock = threading.Lock()
        self._calls: list[WorldCall] = []

    @property
    def calls(self) -> tuple[WorldCall, ...]:
        with self._lock:
            return tuple(self._calls)

    def record(
        self,
        service: str,
        operation: str,
        params: dict[str, Any],
        origin: Origin,
        status: int | None = None,
    ) -> None:
        """Append a call if recording and the operation mutates."""
        if not self.recording or not is_mutating(operation):
            return
        call = WorldCall(
            service=service,
            operation=operation,
            targets=targets_of(params),
            params=params,
            at=datetime.now(UTC),
            origin=origin,
            status=status,
        )
        with self._lock:
            self._calls.append(call)

    def middleware(self, app: WsgiApp) -> WsgiApp:
        """Wrap a WSGI app so every request it serves is parsed and recorded."""

        def recorded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            service, operation, params = parse_request(environ, body)
            given = environ.get("HTTP_" + ORIGIN_HEADER.upper().replace("-", "_"))
            origin: Origin = (
                "sandbox" if given and secrets.compare_digest(given, self.secret) else "healer"
            )
            status: list[int] = []

            def remember(code: str, headers: Any, *rest: Any) -> Any:
                status.append(int(code.split()[0]))
                return start_response(code, headers, *rest)

            try:
                return app(environ, remember)
            finally:
                self.record(service, operation, params, origin, status[0] if status else None)

        return recorded


def parse_request(environ: dict[str, Any], body: bytes) -> tuple[str, str, dict[str, Any]]:
    """(service, operation, parameters) of an AWS API request as moto receives it.

    JSON protocols name the operation in `X-Amz-Target`; query protocols in `Action=` (query
    string or form body). Anything else is named by its method and path.
    """
    service = _service(environ)
    path = str(environ.get("PATH_INFO") or "/")
    if path.startswith("/moto-api"):
        return "moto-api", f"{environ.get('REQUEST_METHOD', 'POST')} {path}", {}
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, str(target).rsplit(".", 1)[-1], _json(body)
    form = dict(parse_qsl(str(environ.get("QUERY_STRING") or "")))
    if "json" not in str(environ.get("CONTENT_TYPE") or ""):
        form.update(parse_qsl(body.decode("utf-8", errors="replace")))
    if "Action" in form:
        action = form.pop("Action")
        form.pop("Version", None)
        return service, action, unflatten(form)
    method = str(environ.get("REQUEST_METHOD") or "GET")
    operation = "Get" if method in ("GET", "HEAD") else f"{method} {path}"
    return service, operation, _json(body)


def unflatten(form: dict[str, str]) -> dict[str, Any]:
    """Query-protocol parameters as nested values: `InstanceIds.member.1` → `InstanceIds: [..]`."""
    tree: dict[str, Any] = {}
    for key, value in form.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return {key: _lists(value) for key, value in tree.items()}


def _lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if set(value) == {"member"}:
        return _lists(value["member"])
    if value and all(key.isdigit() for key in value):
        return [_lists(value[key]) for key in sorted(value, key=int)]
    return {key: _lists(item) for key, item in value.items()}


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return {"_body": body[:500].decode("utf-8", errors="replace")}
    return parsed if isinstance(parsed, dict) else {"_body": parsed}


def _service(environ: dict[str, Any]) -> str:
    """The signing name from the SigV4 credential scope (`.../<region>/<service>/aws4_request`)."""
    authorization = str(environ.get("HTTP_AUTHORIZATION") or "")
    _, _, scope = authorization.partition("Credential=")
    parts = scope.split(",")[0].split("/")
    name = parts[3] if len(parts) > 3 else "unknown"
    return _SCOPE_SERVICES.get(name, name)
