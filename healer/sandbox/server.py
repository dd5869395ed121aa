"""A threaded moto server on loopback that shuts down promptly.

moto's DynamoDB checks a write's condition and then writes, with no lock between: two threads
can both pass one condition. DynamoDB applies each write atomically, so this server handles
DynamoDB requests one at a time (the other services stay concurrent: SQS long polls wait).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

_POLL_SECONDS = 0.05


class LoopbackMotoServer(ThreadedMotoServer):
    """`ThreadedMotoServer` whose serve loop polls every 50 ms (moto's waits 0.5 s on stop).

    Args:
        middleware: Wraps moto's WSGI app (the sandbox's world record sits there).
    """

    def __init__(self, middleware: Callable[[Any], Any] | None = None) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._middleware = middleware

    def _server_entry(self) -> None:
        app: Any = _one_dynamodb_request_at_a_time(DomainDispatcherApplication(create_backend_app))
        if self._middleware is not None:
            app = self._middleware(app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=_POLL_SECONDS)

    @property
    def endpoint_url(self) -> str:
        """`http://127.0.0.1:<port>` once started."""
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"


def _one_dynamodb_request_at_a_time(app: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a WSGI app so DynamoDB requests (`X-Amz-Target: DynamoDB_…`) never overlap."""
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return app(environ, start_response)
        with lock:
            return list(app(environ, start_response))

    return serialised
