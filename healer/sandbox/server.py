"""A threaded moto server on loopback that shuts down promptly."""

from __future__ import annotations

from collections.abc import Callable
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
        app: Any = DomainDispatcherApplication(create_backend_app)
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
