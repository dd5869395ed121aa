"""A loopback fake of the OpenSearch endpoints used for kNN search (osmem-server has no kNN).

It answers `HEAD/PUT /<index>`, `POST /_bulk` (index actions) and `POST /<index>/_search` with
either a `knn` query (brute-force cosine similarity, with optional `term` filters) or a
`bool` + `match` query (score = number of query words in the text). Every request is recorded.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WORD = re.compile(r"[a-z0-9]+")


class FakeKnnOpenSearch:
    """In-memory documents by index, served on 127.0.0.1 on a free port."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def searches(self) -> list[dict[str, Any]]:
        """The bodies of the `_search` requests, in order."""
        return [body for method, path, body in self.requests if path.endswith("/_search")]

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        query = body.get("query", {})
        docs = self.docs.get(index, {})
        if "knn" in query:
            ((field, knn),) = query["knn"].items()
            clauses = knn.get("filter", {}).get("bool", {}).get("filter", [])
            scored = [
                (_cosine(knn["vector"], source[field]), doc_id, source)
                for doc_id, source in docs.items()
                if field in source and _passes(source, clauses)
            ]
            limit = min(knn["k"], body.get("size", 10))
        else:
            boolean = query["bool"]
            ((field, text),) = boolean["must"][0]["match"].items()
            words = set(_WORD.findall(text.lower()))
            scored = [
                (float(len(words & set(_WORD.findall(source[field].lower())))), doc_id, source)
                for doc_id, source in docs.items()
                if _passes(source, boolean.get("filter", []))
            ]
            scored = [s for s in scored if s[0] > 0]
            limit = body.get("size", 10)
        scored.sort(key=lambda s: (-s[0], s[1]))
        excluded = set(body.get("_source", {}).get("excludes", []))
        hits = [
            {
                "_index": index,
                "_id": doc_id,
                "_score": score,
                "_source": {k: v for k, v in source.items() if k not in excluded},
            }
            for score, doc_id, source in scored[:limit]
        ]
        return {
            "took": 0,
            "timed_out": False,
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits},
        }

    def bulk(self, ndjson: str) -> dict[str, Any]:
        lines = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
        items = []
        for action, source in zip(lines[::2], lines[1::2], strict=True):
            meta = action["index"]
            self.docs.setdefault(meta["_index"], {})[meta["_id"]] = source
            items.append({"index": {"_index": meta["_index"], "_id": meta["_id"], "status": 201}})
        return {"took": 0, "errors": False, "items": items}

    @contextmanager
    def running(self) -> Iterator[FakeKnnOpenSearch]:
        """Serve until the block ends."""
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def _cosine(a: list[float], b: list[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


def _passes(source: dict[str, Any], clauses: list[dict[str, Any]]) -> bool:
    for clause in clauses:
        ((field, value),) = clause["term"].items()
        have = source.get(field)
        if not (value in have if isinstance(have, list) else have == value):
            return False
    return True


def _handler(fake: FakeKnnOpenSearch) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _body(self) -> str:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()

        def do_HEAD(self) -> None:
            fake.requests.append(("HEAD", self.path, None))
            self._reply(200 if self.path.strip("/") in fake.docs else 404)

        def do_PUT(self) -> None:
            index = self.path.strip("/").split("?")[0]
            fake.requests.append(("PUT", self.path, json.loads(self._body() or "{}")))
            fake.docs.setdefault(index, {})
            self._reply(200, {"acknowledged": True, "index": index})

        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            raw = self._body()
            if path == "/_bulk":
                fake.requests.append(("POST", path, raw))
                self._reply(200, fake.bulk(raw))
            elif path.endswith("/_search"):
                body = json.loads(raw or "{}")
                fake.requests.append(("POST", path, body))
                self._reply(200, fake.search(path.strip("/").split("/")[0], body))
            else:
                self._reply(404, {"error": f"fake: no route for POST {path}"})

    return Handler
