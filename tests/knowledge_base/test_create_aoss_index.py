"""The index script terraform apply runs: through the real opensearch-py client to osmem-server,
behind a stand-in that refuses requests the way a new collection does until its policy applies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from osmem_server import OsmemServer

from knowledge_base import create_aoss_index
from knowledge_base.create_aoss_index import main
from knowledge_base.opensearch import VECTOR_FIELD, local_client

INDEX = "healer-runbooks"
REFUSAL = b'{"status":403,"message":"User does not have permissions for the requested resource"}'


class RefusingProxy:
    """Answers 403 to the first `refusals` requests, then forwards to `upstream`."""

    def __init__(self, upstream: str, refusals: int) -> None:
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.refused < refusals:
                    proxy.refused += 1
                    self._send(403, REFUSAL, {"Content-Type": "application/json"})
                    return
                headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                reply = requests.request(
                    self.command, upstream + self.path, data=body, headers=headers, timeout=10
                )
                self._send(reply.status_code, reply.content, {"Content-Type": "application/json"})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_HEAD = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[OsmemServer]:
    with OsmemServer.start(japanese=False) as server:
        yield server


@pytest.fixture
def cluster_url(cluster: OsmemServer) -> Iterator[str]:
    with cluster.clone() as clone:
        yield clone.url


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(create_aoss_index, "RETRY_SECONDS", 0.01)


def unsigned(endpoint: str, region: str) -> Any:
    return local_client(endpoint)


def run(endpoint: str, *extra: str) -> int:
    argv = ["--endpoint", endpoint, "--index", INDEX, "--region", "us-east-1", *extra]
    return main(argv, connect=unsigned)


def test_creates_the_index_bedrock_needs_and_leaves_it_on_a_second_run(
    cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(cluster_url, "--dimension", "256") == 0
    assert run(cluster_url, "--dimension", "256") == 0

    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{cluster_url}/{INDEX}: created",
        f"{cluster_url}/{INDEX}: already exists; left unchanged",
    ]
    mapping = local_client(cluster_url).indices.get_mapping(index=INDEX)[INDEX]["mappings"]
    assert mapping["properties"][VECTOR_FIELD]["dimension"] == 256


def test_refusals_while_the_access_policy_applies_are_retried(cluster_url: str) -> None:
    proxy = RefusingProxy(cluster_url, refusals=3)
    try:
        assert run(proxy.url, "--wait-seconds", "5") == 0
    finally:
        proxy.close()

    assert proxy.refused == 3
    assert local_client(cluster_url).indices.exists(index=INDEX)


def test_a_collection_that_still_refuses_at_the_deadline_fails_in_one_line(
    cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy = RefusingProxy(cluster_url, refusals=10_000)
    try:
        assert run(proxy.url, "--wait-seconds", "0.05") == 1
    finally:
        proxy.close()

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: opensearch: creating index {INDEX}")
    assert "403" in err
    assert not local_client(cluster_url).indices.exists(index=INDEX)


def test_a_nonsense_dimension_is_refused_before_any_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        run("http://127.0.0.1:9", "--dimension", "0")

    assert exited.value.code == 2
    assert "--dimension must be positive" in capsys.readouterr().err
