"""A loopback fake of the Slack Web API for the real slack-sdk and Bolt: it records every call,
keeps the messages it was sent (threads included), checks Block Kit payloads against Slack's
limits, and builds requests signed as Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

BOT_USER = "UBOT0001"
TEAM = "T0000001"

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks)
MAX_BLOCKS = 50
TEXT_LIMITS = {"section": 3000, "header": 150, "context": 3000}
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
MESSAGE_TEXT_MAX = 40_000
KNOWN_BLOCKS = {"section", "header", "context", "actions", "divider", "image", "rich_text"}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


def block_problems(blocks: Any) -> list[str]:
    """What in `blocks` Slack would refuse (empty when it is valid)."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems = [f"{len(blocks)} blocks (max {MAX_BLOCKS})"] if len(blocks) > MAX_BLOCKS else []
    for n, block in enumerate(blocks):
        kind = block.get("type")
        if kind not in KNOWN_BLOCKS:
            problems.append(f"block {n}: unknown type {kind!r}")
            continue
        texts = [block.get("text")] if "text" in block else []
        texts += block.get("fields", []) + (block.get("elements", []) if kind == "context" else [])
        for text in texts:
            if isinstance(text, dict) and len(text.get("text", "")) > TEXT_LIMITS.get(kind, 3000):
                problems.append(f"block {n} ({kind}): text over {TEXT_LIMITS.get(kind, 3000)}")
        if kind == "context" and len(block.get("elements", [])) > 10:
            problems.append(f"block {n}: more than 10 context elements")
        if kind == "actions":
            for element in block.get("elements", []):
                if len(element.get("text", {}).get("text", "")) > BUTTON_TEXT_MAX:
                    problems.append(f"block {n}: button text over {BUTTON_TEXT_MAX}")
                if len(str(element.get("value", ""))) > BUTTON_VALUE_MAX:
                    problems.append(f"block {n}: button value over {BUTTON_VALUE_MAX}")
    return problems


class FakeSlack:
    """The Web API on `http://127.0.0.1:PORT/api/` (give `url` to `WebClient(base_url=...)`).

    Args:
        groups: User group id → member user ids, for `usergroups.users.list`.
    """

    def __init__(self, groups: dict[str, list[str]] | None = None) -> None:
        self.calls: list[Call] = []
        self.messages: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.groups = groups or {}
        self.failing: set[str] = set()
        """Methods that answer `ok: false` (Slack having an outage)."""
        self._lock = threading.Lock()
        self._ts = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve(dict(parse_qsl(urlparse(self.path).query)))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = dict(parse_qsl(raw))
                self._serve({**dict(parse_qsl(urlparse(self.path).query)), **args})

            def _serve(self, args: dict[str, Any]) -> None:
                method = urlparse(self.path).path.removeprefix("/api/")
                auth = self.headers.get("Authorization") or ""
                reply = fake.handle(method, args, auth.removeprefix("Bearer ") or None)
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        """One Web API call: recorded, checked, answered."""
        for key in ("blocks", "users"):
            if isinstance(args.get(key), str) and args[key].startswith("["):
                args[key] = json.loads(args[key])
        with self._lock:
            self.calls.append(Call(method, args, token))
            if method in self.failing:
                return {"ok": False, "error": "service_unavailable"}
            if token is None and method != "api.test":
                return {"ok": False, "error": "not_authed"}
            if "blocks" in args:
                found = block_problems(args["blocks"])
                if found:
                    self.problems += [f"{method}: {p}" for p in found]
                    return {"ok": False, "error": "invalid_blocks"}
            if len(str(args.get("text", ""))) > MESSAGE_TEXT_MAX:
                self.problems.append(f"{method}: text over {MESSAGE_TEXT_MAX}")
                return {"ok": False, "error": "msg_too_long"}
            return self._answer(method, args)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "B0000001", "team_id": TEAM}
        if method == "chat.postMessage":
            self._ts += 1
            message = {
                "ts": f"{1_700_000_000 + self._ts}.000100",
                "channel": args["channel"],
                "text": args.get("text", ""),
                "blocks": args.get("blocks", []),
                "thread_ts": args.get("thread_ts"),
                "user": BOT_USER,
            }
            self.messages.append(message)
            return {"ok": True, "channel": args["channel"], "ts": message["ts"], "message": message}
        if method == "chat.update":
            message = self.message(args["ts"])
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.update(text=args.get("text", ""), blocks=args.get("blocks", []))
            return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V0000001", **(args.get("view") or {})}}
        if method == "usergroups.users.list":
            group = args.get("usergroup")
            if group not in self.groups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": self.groups[group]}
        if method == "conversations.replies":
            thread = [m for m in self.messages if args["ts"] in (m["ts"], m["thread_ts"])]
            return {"ok": True, "messages": thread, "has_more": False}
        return {"ok": False, "error": "unknown_method"}

    def message(self, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["ts"] == ts), None)

    def called(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of `method`, in order."""
        return [c.args for c in self.calls if c.method == method]


def signed_headers(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with `body`: a v0 HMAC-SHA256 signature over its timestamp."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest.hexdigest()}",
    }


def click_body(message: dict[str, Any], action_id: str, user: str) -> str:
    """The form body of a click on a button of `message` (as Slack posts block_actions)."""
    button = next(
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == action_id
    )
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": user},
        "api_app_id": "A0000001",
        "container": {"type": "message", "message_ts": message["ts"]},
        "channel": {"id": message["channel"]},
        "message": message,
        "actions": [{**button, "block_id": "approval_actions", "type": "button"}],
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.invalid/actions/1",
    }
    return urlencode({"payload": json.dumps(payload)})


def command_body(text: str, user: str, channel: str = "C0HEALER") -> str:
    """The form body of `/healer TEXT`."""
    return urlencode(
        {
            "command": "/healer",
            "text": text,
            "user_id": user,
            "channel_id": channel,
            "team_id": TEAM,
            "api_app_id": "A0000001",
            "trigger_id": "1.2.3",
            "response_url": "https://hooks.slack.invalid/commands/1",
        }
    )


def event_body(event: dict[str, Any]) -> str:
    """The JSON body of an Events API callback carrying `event`."""
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "A0000001",
            "event": event,
            "event_id": f"Ev{abs(hash(json.dumps(event, sort_keys=True))):010d}",
            "event_time": int(time.time()),
            "authorizations": [{"user_id": BOT_USER, "team_id": TEAM, "is_bot": True}],
        }
    )
