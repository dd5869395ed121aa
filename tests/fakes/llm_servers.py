"""Loopback fakes of the Anthropic Messages API and the OpenAI Chat Completions API.

Each is a small HTTP server on 127.0.0.1 that implements just enough of its provider's wire
format for the real SDKs (and strands' AnthropicModel / OpenAIModel over them): streaming SSE
answers with text or a tool call whose arguments arrive in several deltas, token usage, the
model list, and 401 for a wrong key. The answers are decided by the offline engine: each request
is translated back into a strands conversation, `next_step` picks the move, and the move is
written in the provider's format. So every request and response crosses the provider's real
formatting and parsing code, exactly as a hosted model would be reached.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agents.offline.engine import next_step
from agents.offline.steps import Say

Messages = list[dict[str, Any]]


def tokens(text: str) -> int:
    """A stand-in token count: about four characters a token."""
    return max(1, len(text) // 4)


def pieces(text: str, parts: int = 3) -> list[str]:
    """`text` cut into `parts` consecutive pieces (streamed JSON arrives in fragments)."""
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass
class Served:
    """What one fake received and answered."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    raw_bodies: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    probes: list[str] = field(default_factory=list)


class FakeProviderServer:
    """Base of the two fakes: a threaded loopback server, its record, and the key it accepts."""

    api = "base"

    def __init__(
        self,
        api_key: str | None = None,
        models: tuple[str, ...] = (),
        fail_with: int | None = None,
        max_requests: int = 200,
        port: int = 0,
    ) -> None:
        """`api_key`: the only key accepted (None: any); `models`: the models listed (empty:
        any is known); `fail_with`: answer every completion with this HTTP status;
        `max_requests`: refuse (400) beyond this many completions, so a conversation that no
        longer progresses fails fast instead of looping; `port`: 0 picks a free one."""
        self.api_key = api_key
        self.models = models
        self.fail_with = fail_with
        self.max_requests = max_requests
        self.served = Served()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> FakeProviderServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- provider specifics -------------------------------------------------------------
    def authorised(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def answer(self, body: dict[str, Any], turn: int) -> tuple[list[str], int, int]:
        """The SSE lines of the answer, and the input and output tokens it reports."""
        raise NotImplementedError

    def model_list(self, path: str) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def error(self, status: int, message: str) -> dict[str, Any]:
        raise NotImplementedError

    # --- HTTP ------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads the record instead."""

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.served.probes.append(self.path)
                if not fake.authorised(headers):
                    self._json(401, fake.error(401, "invalid api key"))
                    return
                self._json(*fake.model_list(self.path))

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                if not fake.authorised(headers):
                    self._json(401, fake.error(401, "invalid api key"))
                    return
                body = json.loads(raw)
                with fake._lock:
                    fake.served.requests.append(body)
                    fake.served.headers.append(headers)
                    fake.served.raw_bodies.append(raw)
                    turn = len(fake.served.requests)
                if fake.fail_with is not None:
                    self._json(fake.fail_with, fake.error(fake.fail_with, "the fake refuses"))
                    return
                if turn > fake.max_requests:
                    self._json(400, fake.error(400, f"more than {fake.max_requests} requests"))
                    return
                lines, used_in, used_out = fake.answer(body, turn)
                with fake._lock:
                    fake.served.input_tokens += used_in
                    fake.served.output_tokens += used_out
                self._send(200, "".join(lines).encode(), "text/event-stream")

        return Handler


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if part.get("type") == "text")


# --- Anthropic Messages API -----------------------------------------------------------------


def anthropic_to_strands(messages: Messages) -> Messages:
    """Anthropic `messages` as the strands conversation the offline engine reads."""
    conversation = []
    for message in messages:
        content = message["content"]
        blocks: list[dict[str, Any]] = []
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            if block["type"] == "text":
                blocks.append({"text": block["text"]})
            elif block["type"] == "tool_use":
                blocks.append(
                    {
                        "toolUse": {
                            "toolUseId": block["id"],
                            "name": block["name"],
                            "input": block["input"],
                        }
                    }
                )
            elif block["type"] == "tool_result":
                blocks.append(
                    {
                        "toolResult": {
                            "toolUseId": block["tool_use_id"],
                            "content": [{"text": _text(block.get("content"))}],
                            "status": "error" if block.get("is_error") else "success",
                        }
                    }
                )
        conversation.append({"role": message["role"], "content": blocks})
    return conversation


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class FakeAnthropicAPI(FakeProviderServer):
    """`POST /v1/messages` (streaming) and `GET /v1/models/{id}`, deciding with the engine."""

    api = "anthropic"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def authorised(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("x-api-key") == self.api_key

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = {401: "authentication_error", 404: "not_found_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def model_list(self, path: str) -> tuple[int, dict[str, Any]]:
        model_id = path.rstrip("/").rsplit("/", 1)[-1]
        if path.startswith("/v1/models/") and (not self.models or model_id in self.models):
            return 200, {
                "type": "model",
                "id": model_id,
                "display_name": model_id,
                "created_at": "2025-05-14T00:00:00Z",
            }
        return 404, self.error(404, f"model: {model_id}")

    def answer(self, body: dict[str, Any], turn: int) -> tuple[list[str], int, int]:
        tools = [tool["name"] for tool in body.get("tools", [])]
        step = next_step(anthropic_to_strands(body["messages"]), tools)
        used_in = tokens(json.dumps(body))
        start = {
            "type": "message_start",
            "message": {
                "id": f"msg_{turn:04d}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": used_in, "output_tokens": 1},
            },
        }
        lines = [_sse("message_start", start)]
        if isinstance(step, Say):
            used_out = tokens(step.text)
            block = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": part} for part in pieces(step.text)]
            stop_reason = "end_turn"
        else:
            arguments = json.dumps(step.input)
            used_out = tokens(step.name + arguments)
            block = {"type": "tool_use", "id": f"toolu_{turn:04d}", "name": step.name, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": part} for part in pieces(arguments)
            ]
            stop_reason = "tool_use"
        lines.append(
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            )
        )
        lines += [
            _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
            for d in deltas
        ]
        lines.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        lines.append(
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": used_out},
                },
            )
        )
        lines.append(_sse("message_stop", {"type": "message_stop"}))
        return lines, used_in, used_out


# --- OpenAI Chat Completions API -------------------------------------------------------------


def openai_to_strands(messages: Messages) -> Messages:
    """OpenAI chat `messages` as the strands conversation the offline engine reads.

    The chat format has no error flag on tool results, so every result reads as a success, as
    it would to a hosted model.
    """
    conversation: Messages = []
    for message in messages:
        role = message["role"]
        if role == "system":
            continue
        if role == "tool":
            conversation.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": message["tool_call_id"],
                                "content": [{"text": _text(message.get("content"))}],
                                "status": "success",
                            }
                        }
                    ],
                }
            )
            continue
        blocks: list[dict[str, Any]] = []
        text = _text(message.get("content"))
        if text:
            blocks.append({"text": text})
        for call in message.get("tool_calls") or []:
            blocks.append(
                {
                    "toolUse": {
                        "toolUseId": call["id"],
                        "name": call["function"]["name"],
                        "input": json.loads(call["function"]["arguments"] or "{}"),
                    }
                }
            )
        conversation.append({"role": role, "content": blocks})
    return conversation


class FakeOpenAIAPI(FakeProviderServer):
    """`POST /v1/chat/completions` (streaming) and `GET /v1/models`, deciding with the engine."""

    api = "openai"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def authorised(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}"

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": "invalid_request_error", "code": status}}

    def model_list(self, path: str) -> tuple[int, dict[str, Any]]:
        if path.rstrip("/") != "/v1/models":
            return 404, self.error(404, "not found")
        return 200, {
            "object": "list",
            "data": [{"id": m, "object": "model", "owned_by": "fake"} for m in self.models],
        }

    def answer(self, body: dict[str, Any], turn: int) -> tuple[list[str], int, int]:
        tools = [tool["function"]["name"] for tool in body.get("tools", [])]
        step = next_step(openai_to_strands(body["messages"]), tools)
        used_in = tokens(json.dumps(body))
        deltas: list[dict[str, Any]]
        if isinstance(step, Say):
            used_out = tokens(step.text)
            deltas = [{"role": "assistant", "content": part} for part in pieces(step.text)]
            finish = "stop"
        else:
            arguments = json.dumps(step.input)
            used_out = tokens(step.name + arguments)
            head = {
                "index": 0,
                "id": f"call_{turn:04d}",
                "type": "function",
                "function": {"name": step.name, "arguments": ""},
            }
            deltas = [{"role": "assistant", "content": None, "tool_calls": [head]}]
            deltas += [
                {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
                for part in pieces(arguments)
            ]
            finish = "tool_calls"
        chunks = [
            self._chunk(body, turn, [{"index": 0, "delta": d, "finish_reason": None}])
            for d in deltas
        ]
        chunks.append(self._chunk(body, turn, [{"index": 0, "delta": {}, "finish_reason": finish}]))
        usage = {
            "prompt_tokens": used_in,
            "completion_tokens": used_out,
            "total_tokens": used_in + used_out,
        }
        chunks.append(self._chunk(body, turn, [], usage))
        lines = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks]
        lines.append("data: [DONE]\n\n")
        return lines, used_in, used_out

    @staticmethod
    def _chunk(
        body: dict[str, Any],
        turn: int,
        choices: list[dict[str, Any]],
        usage: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{turn:04d}",
            "object": "chat.completion.chunk",
            "created": 1_740_830_400,
            "model": body["model"],
            "choices": choices,
            **({"usage": usage} if usage else {}),
        }


def main() -> None:
    """Serve one fake on a port until interrupted, to replay `healer eval --model …` against it:
    `PYTHONPATH=.:tests python -m fakes.llm_servers openai 8089`."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("api", choices=["anthropic", "openai"])
    parser.add_argument("port", type=int)
    args = parser.parse_args()
    fake_class = FakeAnthropicAPI if args.api == "anthropic" else FakeOpenAIAPI
    with fake_class(port=args.port, max_requests=1_000_000) as fake:
        print(f"fake {args.api} API at {fake.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
