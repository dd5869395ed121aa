"""Runbook search straight against OpenSearch (or OpenSearch Serverless) with opensearch-py.

The index uses the field names a Bedrock Knowledge Base expects, so the same index serves both
the knowledge base and this retriever.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import boto3
from botocore.exceptions import BotoCoreError
from opensearchpy import OpenSearch, RequestsAWSV4SignerAuth, RequestsHttpConnection, helpers
from opensearchpy.exceptions import OpenSearchException, RequestError
from opensearchpy.helpers.errors import BulkIndexError

from healer.errors import ConfigError, ToolInputError, ToolUnavailable
from knowledge_base.retriever import RunbookHit

VECTOR_FIELD = "bedrock-knowledge-base-default-vector"
TEXT_FIELD = "AMAZON_BEDROCK_TEXT_CHUNK"
METADATA_FIELD = "AMAZON_BEDROCK_METADATA"
DEFAULT_DIMENSION = 1024
"""Titan Text Embeddings V2."""

RRF_K = 60
"""Reciprocal-rank-fusion constant (Cormack et al., 2009)."""

OVERFETCH = 4
"""Chunks fetched per wanted runbook before collapsing to one hit per runbook."""

Mode = Literal["bm25", "knn", "hybrid"]
Embed = Callable[[list[str]], list[list[float]]]
_Scored = tuple[str, float, dict[str, Any]]  # (doc id, score, _source)

_CHUNK_FIELDS = ("runbook_id", "section", "text", "category", "actions", "source")
_FILTER_FIELDS = {"category": "category", "action": "actions"}
_KB_SOURCE_URI = "x-amz-bedrock-kb-source-uri"  # set on documents a Bedrock KB wrote
_FAILURES = (OpenSearchException, BotoCoreError)


def index_body(dimension: int = DEFAULT_DIMENSION) -> dict[str, Any]:
    """Settings and mappings of the runbook index (Bedrock KB on OpenSearch Serverless).

    Args:
        dimension: The embedding model's output size (Titan Text Embeddings V2: 1024).
    """
    return {
        "settings": {"index": {"knn": True, "knn.algo_param.ef_search": 512}},
        "mappings": {
            "properties": {
                VECTOR_FIELD: {
                    "type": "knn_vector",
                    "dimension": dimension,
                    "method": {
                        "name": "hnsw",
                        "engine": "faiss",
                        "space_type": "l2",
                        "parameters": {"m": 16, "ef_construction": 512},
                    },
                },
                TEXT_FIELD: {"type": "text"},
                METADATA_FIELD: {"type": "text", "index": False},
                "runbook_id": {"type": "keyword"},
                "section": {"type": "keyword"},
                "category": {"type": "keyword"},
                "actions": {"type": "keyword"},
                "source": {"type": "keyword"},
            }
        },
    }


def aoss_client(host: str, region: str, credentials: Any = None) -> OpenSearch:
    """A client for an OpenSearch Serverless collection, signing requests with SigV4 (`aoss`).

    Args:
        host: The collection endpoint, e.g. `abc123.us-east-1.aoss.amazonaws.com`
            (a leading `https://` is dropped).
        region: The collection's AWS region.
        credentials: botocore credentials; default: the boto3 default credential chain.

    Raises:
        ConfigError: No credentials were given or found.
    """
    if credentials is None:
        credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ConfigError("OpenSearch Serverless: no AWS credentials found")
    return OpenSearch(
        hosts=[{"host": host.removeprefix("https://").rstrip("/"), "port": 443}],
        http_auth=RequestsAWSV4SignerAuth(credentials, region, "aoss"),
        use_ssl=True,
        verify_certs=True,
        connection_class=RequestsHttpConnection,
        pool_maxsize=20,
        timeout=30,
    )


def local_client(url: str) -> OpenSearch:
    """An unsigned client for a local OpenSearch-compatible server (tests, demos)."""
    return OpenSearch(hosts=[url], timeout=10)


class OpenSearchRetriever:
    """The `Retriever` over an OpenSearch index: BM25, kNN, or both fused (RRF).

    Args:
        client: An opensearch-py client (`aoss_client`, `local_client`).
        index: The index name.
        embed: Texts → vectors; needed for kNN and hybrid search and to store vectors.
    """

    def __init__(self, client: OpenSearch, index: str, embed: Embed | None = None) -> None:
        self._client = client
        self._index = index
        self._embed = embed

    def create_index(self, dimension: int = DEFAULT_DIMENSION) -> bool:
        """Create the index with `index_body(dimension)` unless it exists.

        Returns:
            True when the index was created, False when it was already there.

        Raises:
            ToolUnavailable: OpenSearch refused or could not be reached.
        """
        try:
            if self._client.indices.exists(index=self._index):
                return False
            self._client.indices.create(index=self._index, body=index_body(dimension))
        except RequestError as exc:
            if exc.error == "resource_already_exists_exception":
                return False
            raise ToolUnavailable(f"opensearch: creating index {self._index}: {exc}") from exc
        except _FAILURES as exc:
            raise ToolUnavailable(f"opensearch: creating index {self._index}: {exc}") from exc
        return True

    def ingest(self, chunks: Iterable[Mapping[str, Any] | object], refresh: bool = False) -> int:
        """Index runbook chunks in bulk; re-ingesting the same chunks overwrites them.

        Args:
            chunks: Dicts (or objects with those attributes) with `runbook_id`, `section`,
                `text`, `category`, `actions`, `source`.
            refresh: Make the documents searchable before returning (not on Serverless).

        Returns:
            The number of documents indexed.

        Raises:
            ConfigError: A chunk lacks a field, the embeddings do not fit, or OpenSearch
                rejected documents (e.g. a vector of the wrong dimension).
            ToolUnavailable: OpenSearch could not be reached.
        """
        docs = [_as_dict(c) for c in chunks]
        if not docs:
            return 0
        vectors: list[list[float] | None] = [None] * len(docs)
        if self._embed is not None:
            vectors = [list(v) for v in self._embed([d["text"] for d in docs])]
            if len(vectors) != len(docs):
                raise ConfigError(f"embed returned {len(vectors)} vectors for {len(docs)} texts")
        actions = [
            {"_index": self._index, "_id": doc_id, "_source": _document(doc, vector)}
            for doc_id, doc, vector in zip(_doc_ids(docs), docs, vectors, strict=True)
        ]
        try:
            extra = {"refresh": True} if refresh else {}  # no refresh parameter unless asked
            indexed, _ = helpers.bulk(self._client, actions, **extra)
        except BulkIndexError as exc:
            first = exc.errors[0] if exc.errors else {}
            raise ConfigError(
                f"opensearch rejected {len(exc.errors)} document(s) in {self._index}: {first}"
            ) from exc
        except _FAILURES as exc:
            raise ToolUnavailable(f"opensearch: bulk ingest into {self._index}: {exc}") from exc
        return int(indexed)

    def search(
        self,
        query: str,
        k: int = 5,
        filters: dict[str, str] | None = None,
        mode: Mode = "bm25",
    ) -> list[RunbookHit]:
        """Rank runbooks for a query, one hit per runbook (its best chunk).

        Args:
            query: Symptoms in words.
            k: How many runbooks to return, at least 1.
            filters: Optional `category` and/or `action` (catalog action id) to require.
            mode: `bm25` (lexical), `knn` (vectors) or `hybrid` (both, reciprocal-rank fused).

        Raises:
            ToolInputError: Bad `k`, `mode` or filter key.
            ConfigError: kNN or hybrid search without an embed function.
            ToolUnavailable: The search failed.
        """
        if k < 1:
            raise ToolInputError(f"k: must be at least 1, got {k}")
        if mode not in ("bm25", "knn", "hybrid"):
            raise ToolInputError(f"mode: must be bm25, knn or hybrid, got {mode!r}")
        size = k * OVERFETCH
        clauses = _filter_clauses(filters or {})
        if mode == "bm25":
            return _one_per_runbook(self._bm25(query, size, clauses), k)
        if self._embed is None:
            raise ConfigError(f"search mode {mode!r} needs an embed function")
        knn = self._knn(self._embed([query])[0], size, clauses)
        if mode == "knn":
            return _one_per_runbook(knn, k)
        return _one_per_runbook(_fuse([self._bm25(query, size, clauses), knn]), k)

    def _bm25(self, query: str, size: int, clauses: list[dict[str, Any]]) -> list[_Scored]:
        body = {
            "size": size,
            "_source": {"excludes": [VECTOR_FIELD]},
            "query": {"bool": {"must": [{"match": {TEXT_FIELD: query}}], "filter": clauses}},
        }
        return self._search(body)

    def _knn(self, vector: list[float], size: int, clauses: list[dict[str, Any]]) -> list[_Scored]:
        knn: dict[str, Any] = {"vector": [float(x) for x in vector], "k": size}
        if clauses:
            knn["filter"] = {"bool": {"filter": clauses}}
        body = {
            "size": size,
            "_source": {"excludes": [VECTOR_FIELD]},
            "query": {"knn": {VECTOR_FIELD: knn}},
        }
        return self._search(body)

    def _search(self, body: dict[str, Any]) -> list[_Scored]:
        try:
            response = self._client.search(index=self._index, body=body)
        except _FAILURES as exc:
            raise ToolUnavailable(f"opensearch: search in {self._index}: {exc}") from exc
        return [
            (hit["_id"], float(hit.get("_score") or 0.0), hit.get("_source", {}))
            for hit in response.get("hits", {}).get("hits", [])
        ]


def _filter_clauses(filters: dict[str, str]) -> list[dict[str, Any]]:
    """`term` filters: `category` on the category field, `action` on the `actions` list."""
    unknown = sorted(set(filters) - set(_FILTER_FIELDS))
    if unknown:
        raise ToolInputError(f"filters: unknown key(s) {unknown}; allowed: {list(_FILTER_FIELDS)}")
    return [{"term": {_FILTER_FIELDS[key]: value}} for key, value in sorted(filters.items())]


def _fuse(rankings: list[list[_Scored]]) -> list[_Scored]:
    """Reciprocal-rank fusion of ranked chunk lists: score = Σ 1 / (RRF_K + rank)."""
    scores: dict[str, float] = {}
    sources: dict[str, dict[str, Any]] = {}
    for ranking in rankings:
        for rank, (doc_id, _, source) in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (RRF_K + rank)
            sources.setdefault(doc_id, source)
    fused = sorted(scores.items(), key=lambda item: -item[1])
    return [(doc_id, score, sources[doc_id]) for doc_id, score in fused]


def _one_per_runbook(ranked: list[_Scored], k: int) -> list[RunbookHit]:
    best: dict[str, RunbookHit] = {}
    for _, score, source in ranked:
        runbook_id = str(source.get("runbook_id", ""))
        if runbook_id in best:
            continue
        best[runbook_id] = RunbookHit(
            runbook_id=runbook_id,
            section=str(source.get("section", "")),
            score=round(score, 4),
            text=str(source.get(TEXT_FIELD, "")),
            source=str(source.get("source") or source.get(_KB_SOURCE_URI, "")),
        )
    return sorted(best.values(), key=lambda h: -h.score)[:k]


def _as_dict(chunk: Mapping[str, Any] | object) -> dict[str, Any]:
    """A chunk dict (or an object with chunk attributes) in the shape `ingest` stores."""

    def get(name: str, default: Any) -> Any:
        if isinstance(chunk, Mapping):
            return chunk.get(name, default)
        return getattr(chunk, name, default)

    doc = {name: get(name, None) for name in _CHUNK_FIELDS}
    for required in ("runbook_id", "text"):
        if not doc[required]:
            raise ConfigError(f"chunk {chunk!r}: missing {required}")
    category = doc["category"]
    return {
        "runbook_id": str(doc["runbook_id"]),
        "section": str(doc["section"] or ""),
        "text": str(doc["text"]),
        "category": str(getattr(category, "value", category) or ""),
        "actions": [str(getattr(a, "value", a)) for a in doc["actions"] or [] if a is not None],
        "source": str(doc["source"] or ""),
    }


def _doc_ids(docs: list[dict[str, Any]]) -> list[str]:
    """Stable ids `<runbook_id>#<section>#<n>`: the same chunking overwrites the same docs."""
    seen: Counter[tuple[str, str]] = Counter()
    ids = []
    for doc in docs:
        key = (doc["runbook_id"], doc["section"])
        ids.append(f"{key[0]}#{key[1]}#{seen[key]}")
        seen[key] += 1
    return ids


def _document(doc: dict[str, Any], vector: list[float] | None) -> dict[str, Any]:
    metadata = {"runbook_id": doc["runbook_id"], "section": doc["section"], "source": doc["source"]}
    document = {
        TEXT_FIELD: doc["text"],
        METADATA_FIELD: json.dumps(metadata),
        "runbook_id": doc["runbook_id"],
        "section": doc["section"],
        "category": doc["category"],
        "actions": doc["actions"],
        "source": doc["source"],
    }
    if vector is not None:
        document[VECTOR_FIELD] = [float(x) for x in vector]
    return document
