"""The OpenSearch retriever: the real opensearch-py client against osmem-server (index, bulk,
BM25, filters), a loopback kNN fake (kNN, hybrid), and SigV4 signing for OpenSearch Serverless."""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from botocore.credentials import Credentials
from fakes.opensearch_knn import FakeKnnOpenSearch
from osmem_server import OsmemServer

from healer.domain import ActionId, Category
from healer.errors import ConfigError, ToolInputError, ToolUnavailable
from knowledge_base.opensearch import (
    METADATA_FIELD,
    TEXT_FIELD,
    VECTOR_FIELD,
    OpenSearchRetriever,
    aoss_client,
    local_client,
)

INDEX = "healer-runbooks"

CHUNKS: list[dict[str, Any]] = [
    {
        "runbook_id": "disk-full-temp-files",
        "section": "Symptoms",
        "text": "Root volume full. No space left on device when writing /tmp files; mkstemp fails.",
        "category": "disk_full",
        "actions": ["clear_disk_space"],
        "source": "runbooks/disk-full-temp-files.md",
    },
    {
        "runbook_id": "disk-full-temp-files",
        "section": "Fix",
        "text": "Run clear_disk_space on /tmp and /var/tmp for files older than one day.",
        "category": "disk_full",
        "actions": ["clear_disk_space"],
        "source": "runbooks/disk-full-temp-files.md",
    },
    {
        "runbook_id": "memory-leak-restart-service",
        "section": "Symptoms",
        "text": "Resident memory grows until the OOM killer ends the java process; heap leak.",
        "category": "memory_exhaustion",
        "actions": ["restart_service"],
        "source": "runbooks/memory-leak-restart-service.md",
    },
    {
        "runbook_id": "process-crash-loop-restart",
        "section": "Symptoms",
        "text": "The service process exits and systemd restarts it in a loop; core dumped.",
        "category": "process_crash",
        "actions": ["restart_service"],
        "source": "runbooks/process-crash-loop-restart.md",
    },
]


def hashed_embed(dimension: int) -> Any:
    """A deterministic bag-of-words embedding (word hash → dimension)."""

    def embed(texts: list[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            vector = [0.0] * dimension
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                vector[zlib.crc32(word.encode()) % dimension] += 1.0
            vectors.append(vector)
        return vectors

    return embed


def table_embed(table: dict[str, list[float]]) -> Any:
    """An embedding that looks texts up in a table: the test decides the kNN ranking."""
    return lambda texts: [table[t] for t in texts]


# --- osmem-server: index, bulk, BM25, filters -------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[OsmemServer]:
    with OsmemServer.start(japanese=False) as server:
        yield server


@pytest.fixture
def cluster_url(cluster: OsmemServer) -> Iterator[str]:
    with cluster.clone() as clone:
        yield clone.url


@pytest.fixture
def retriever(cluster_url: str) -> OpenSearchRetriever:
    retriever = OpenSearchRetriever(local_client(cluster_url), INDEX, embed=hashed_embed(1024))
    retriever.create_index()
    retriever.ingest(CHUNKS, refresh=True)
    return retriever


def test_create_index_has_the_mapping_bedrock_requires(cluster_url: str) -> None:
    client = local_client(cluster_url)
    retriever = OpenSearchRetriever(client, INDEX)

    assert retriever.create_index(dimension=1024) is True
    assert retriever.create_index(dimension=1024) is False  # idempotent

    properties = client.indices.get_mapping(index=INDEX)[INDEX]["mappings"]["properties"]
    vector = properties[VECTOR_FIELD]
    assert vector["type"] == "knn_vector"
    assert vector["dimension"] == 1024
    assert vector["method"]["name"] == "hnsw"
    assert vector["method"]["engine"] == "faiss"
    assert properties[TEXT_FIELD]["type"] == "text"
    assert properties[METADATA_FIELD] == {"type": "text", "index": False}
    assert {properties[f]["type"] for f in ("runbook_id", "category", "actions")} == {"keyword"}
    settings = client.indices.get_settings(index=INDEX)[INDEX]["settings"]["index"]
    assert settings["knn"] in (True, "true")


def test_bm25_ranks_the_matching_runbook_first(retriever: OpenSearchRetriever) -> None:
    hits = retriever.search("No space left on device in /tmp", k=3)

    assert hits[0].runbook_id == "disk-full-temp-files"
    assert hits[0].section == "Symptoms"
    assert hits[0].source == "runbooks/disk-full-temp-files.md"
    assert len({h.runbook_id for h in hits}) == len(hits)  # one hit per runbook


def test_category_and_action_filters_restrict_results(retriever: OpenSearchRetriever) -> None:
    by_category = retriever.search("process restarts", k=5, filters={"category": "process_crash"})
    by_action = retriever.search("process memory", k=5, filters={"action": "restart_service"})

    assert [h.runbook_id for h in by_category] == ["process-crash-loop-restart"]
    assert {h.runbook_id for h in by_action} == {
        "memory-leak-restart-service",
        "process-crash-loop-restart",
    }


def test_ingest_stores_vectors_and_overwrites_on_reingest(cluster_url: str) -> None:
    client = local_client(cluster_url)
    retriever = OpenSearchRetriever(client, INDEX, embed=hashed_embed(1024))
    retriever.create_index()

    assert retriever.ingest(CHUNKS, refresh=True) == len(CHUNKS)
    assert retriever.ingest(CHUNKS, refresh=True) == len(CHUNKS)

    assert client.count(index=INDEX)["count"] == len(CHUNKS)
    doc = client.get(index=INDEX, id="disk-full-temp-files#Fix#0")["_source"]
    assert len(doc[VECTOR_FIELD]) == 1024
    assert doc["actions"] == ["clear_disk_space"]
    assert '"runbook_id": "disk-full-temp-files"' in doc[METADATA_FIELD]


def test_vectors_of_the_wrong_dimension_are_a_config_error(cluster_url: str) -> None:
    retriever = OpenSearchRetriever(local_client(cluster_url), INDEX, embed=hashed_embed(8))
    retriever.create_index(dimension=16)

    with pytest.raises(ConfigError, match="dimension"):
        retriever.ingest(CHUNKS[:1], refresh=True)


@dataclass
class ChunkObject:
    runbook_id: str
    section: str
    text: str
    category: Category
    actions: list[ActionId] = field(default_factory=list)
    source: str = ""


def test_chunk_objects_with_enums_are_accepted(cluster_url: str) -> None:
    retriever = OpenSearchRetriever(local_client(cluster_url), INDEX)
    retriever.create_index()
    chunk = ChunkObject(
        "disk-full-temp-files", "Fix", "clear /tmp", Category.DISK_FULL, [ActionId.CLEAR_DISK_SPACE]
    )

    retriever.ingest([chunk], refresh=True)

    (hit,) = retriever.search("clear tmp", filters={"action": "clear_disk_space"})
    assert (hit.runbook_id, hit.section) == ("disk-full-temp-files", "Fix")


def test_a_missing_index_is_tool_unavailable(cluster_url: str) -> None:
    retriever = OpenSearchRetriever(local_client(cluster_url), "no-such-index")

    with pytest.raises(ToolUnavailable, match="no-such-index"):
        retriever.search("disk")


def test_bad_search_input_is_rejected(cluster_url: str) -> None:
    retriever = OpenSearchRetriever(local_client(cluster_url), INDEX)

    with pytest.raises(ToolInputError, match="filters"):
        retriever.search("disk", filters={"severity": "high"})
    with pytest.raises(ToolInputError, match="k"):
        retriever.search("disk", k=0)
    with pytest.raises(ConfigError, match="embed"):
        retriever.search("disk", mode="knn")


# --- loopback kNN fake: kNN and hybrid ----------------------------------------------------------

QUERY = "no space left on device"
KNN_CHUNKS: list[dict[str, Any]] = [
    {**CHUNKS[0], "runbook_id": "a", "text": "no space left on device writing tmp files"},
    {**CHUNKS[0], "runbook_id": "b", "text": "disk full: device out of space"},
    {**CHUNKS[0], "runbook_id": "c", "text": "space on device"},
    {**CHUNKS[2], "runbook_id": "m", "text": "oom killer"},
]
VECTORS = {
    QUERY: [1.0, 1.0, 0.0],
    KNN_CHUNKS[0]["text"]: [1.0, 0.0, 0.0],  # cosine 0.71
    KNN_CHUNKS[1]["text"]: [1.0, 1.0, 0.0],  # cosine 1.0
    KNN_CHUNKS[2]["text"]: [0.0, 0.0, 1.0],  # cosine 0
    KNN_CHUNKS[3]["text"]: [0.0, 1.0, 0.0],  # cosine 0.71, other category
}


@pytest.fixture
def fake() -> Iterator[FakeKnnOpenSearch]:
    with FakeKnnOpenSearch().running() as server:
        yield server


@pytest.fixture
def knn_retriever(fake: FakeKnnOpenSearch) -> OpenSearchRetriever:
    retriever = OpenSearchRetriever(local_client(fake.url), INDEX, embed=table_embed(VECTORS))
    retriever.ingest(KNN_CHUNKS)
    return retriever


def test_knn_sends_the_query_vector_and_filters(
    fake: FakeKnnOpenSearch, knn_retriever: OpenSearchRetriever
) -> None:
    hits = knn_retriever.search(QUERY, k=2, mode="knn", filters={"category": "disk_full"})

    assert [h.runbook_id for h in hits] == ["b", "a"]
    assert hits[0].score == 1.0
    (body,) = fake.searches()
    assert body == {
        "size": 8,
        "_source": {"excludes": [VECTOR_FIELD]},
        "query": {
            "knn": {
                VECTOR_FIELD: {
                    "vector": [1.0, 1.0, 0.0],
                    "k": 8,
                    "filter": {"bool": {"filter": [{"term": {"category": "disk_full"}}]}},
                }
            }
        },
    }


def test_ingest_sends_vectors_to_the_index(
    fake: FakeKnnOpenSearch, knn_retriever: OpenSearchRetriever
) -> None:
    stored = fake.docs[INDEX]

    assert stored["b#Symptoms#0"][VECTOR_FIELD] == [1.0, 1.0, 0.0]
    assert stored["b#Symptoms#0"]["category"] == "disk_full"


def test_hybrid_fuses_bm25_and_knn_by_reciprocal_rank(
    fake: FakeKnnOpenSearch, knn_retriever: OpenSearchRetriever
) -> None:
    lexical = knn_retriever.search(QUERY, k=3, filters={"category": "disk_full"})
    semantic = knn_retriever.search(QUERY, k=3, mode="knn", filters={"category": "disk_full"})
    fused = knn_retriever.search(QUERY, k=3, mode="hybrid", filters={"category": "disk_full"})

    assert [h.runbook_id for h in lexical] == ["a", "c", "b"]
    assert [h.runbook_id for h in semantic] == ["b", "a", "c"]
    assert [h.runbook_id for h in fused] == ["a", "b", "c"]
    assert fused[0].score == round(1 / 61 + 1 / 62, 4)
    hybrid_queries = [body["query"] for body in fake.searches()[-2:]]
    assert {next(iter(q)) for q in hybrid_queries} == {"bool", "knn"}  # one of each
    (lexical_query,) = (q for q in hybrid_queries if "bool" in q)
    assert lexical_query["bool"] == {
        "must": [{"match": {TEXT_FIELD: QUERY}}],
        "filter": [{"term": {"category": "disk_full"}}],
    }


# --- SigV4 for OpenSearch Serverless ------------------------------------------------------------


class RecordingAdapter(requests.adapters.BaseAdapter):
    """A requests transport that records the prepared request and answers an empty search."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response._content = b'{"hits": {"total": {"value": 0}, "hits": []}}'
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def test_aoss_client_signs_requests_with_sigv4_for_aoss() -> None:
    client = aoss_client(
        "abc123.us-east-1.aoss.amazonaws.com",
        "us-east-1",
        credentials=Credentials("AKIDEXAMPLE", "secret"),
    )
    connection = client.transport.get_connection()
    adapter = RecordingAdapter()
    connection.session.mount("https://", adapter)  # nothing leaves the process

    hits = OpenSearchRetriever(client, INDEX).search("disk full", k=1)

    assert hits == []
    assert connection.use_ssl and connection.session.verify
    (request,) = adapter.sent
    assert request.url == f"https://abc123.us-east-1.aoss.amazonaws.com:443/{INDEX}/_search"
    headers = request.headers
    authorization = str(headers["Authorization"])
    assert re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/us-east-1/aoss/aws4_request, "
        r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}",
        authorization,
    )
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-content-sha256", "x-amz-date"} <= set(signed)
    body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    assert headers["X-Amz-Content-SHA256"] == hashlib.sha256(body).hexdigest()


def test_aoss_client_without_credentials_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(ConfigError, match="credentials"):
        aoss_client("abc123.us-east-1.aoss.amazonaws.com", "us-east-1")
