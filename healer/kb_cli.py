"""`healer kb`: build, search and evaluate the runbook knowledge base."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from healer.cli_common import console, fail, load
from healer.errors import ConfigError, ToolInputError, ToolUnavailable

if TYPE_CHECKING:
    from evals.kb_eval import RetrievalReport
    from healer.config import HealerSettings
    from knowledge_base.index_store import OpenedIndex
    from knowledge_base.prior import Prior
    from knowledge_base.retriever import Retriever

kb_app = typer.Typer(help="The runbook knowledge base.", no_args_is_help=True)

TARGET_RECALL_AT_3 = 0.90
TARGET_RECALL_AT_1 = 0.75


class Backend(StrEnum):
    LOCAL = "local"
    BEDROCK = "bedrock"
    OPENSEARCH = "opensearch"


def _open_local(settings: HealerSettings, rebuild: bool = False) -> OpenedIndex:
    from healer.knowledge import DEFAULT_INDEX_DIR
    from knowledge_base.embeddings import WordLlamaEmbedder
    from knowledge_base.index_store import IndexStore

    return IndexStore(DEFAULT_INDEX_DIR).open(
        settings.runbooks_dir.resolve(), WordLlamaEmbedder(), rebuild=rebuild
    )


def _hybrid(opened: OpenedIndex) -> Retriever:
    from knowledge_base.embeddings import WordLlamaEmbedder
    from knowledge_base.hybrid import HybridRetriever

    return HybridRetriever(opened.index, WordLlamaEmbedder(), absolute_floor=True)


def _remote(backend: Backend, settings: HealerSettings) -> Retriever:
    """A Bedrock or OpenSearch retriever from the settings (imported only when asked for)."""
    if backend is Backend.BEDROCK:
        kb_id = settings.kb_id
        if not kb_id:
            raise fail("the bedrock backend is not configured: set HEALER_KB_ID")
        import boto3

        from knowledge_base.bedrock import BedrockKnowledgeBaseRetriever

        client = boto3.client("bedrock-agent-runtime", region_name=settings.region)
        return BedrockKnowledgeBaseRetriever(client, kb_id)
    url = settings.opensearch_url
    if not url:
        raise fail("the opensearch backend is not configured: set HEALER_OPENSEARCH_URL")
    from knowledge_base.opensearch import OpenSearchRetriever, aoss_client, local_client

    index = settings.opensearch_index
    if ".aoss.amazonaws.com" in url:
        return OpenSearchRetriever(aoss_client(url, settings.region), index)
    return OpenSearchRetriever(local_client(url), index)


@kb_app.command("index")
def index() -> None:
    """Rebuild the local hybrid index of the runbooks (it also rebuilds itself on change)."""
    opened = _open_local(load(), rebuild=True)
    chunks = opened.index.chunks
    where = opened.path or "memory only (folder not writable)"
    console.print(
        f"indexed {len(opened.runbooks)} runbooks, {len(chunks)} chunks "
        f"in {opened.seconds * 1000:.0f} ms ({opened.index.embedder_name}) → {where}"
    )


@kb_app.command("search")
def search(
    query: str,
    backend: Annotated[Backend, typer.Option(help="where to search")] = Backend.LOCAL,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="how many runbooks")] = 5,
    category: Annotated[str | None, typer.Option(help="only this root-cause category")] = None,
    action: Annotated[str | None, typer.Option(help="only runbooks with this action id")] = None,
) -> None:
    """Rank runbooks for a symptom description; show scores and the matching lines, and the
    prior each runbook's verified outcomes give it."""
    from knowledge_base.prior import WeightedRetriever
    from knowledge_base.text import matching_lines

    settings = load()
    if backend is Backend.LOCAL:
        retriever = _hybrid(_open_local(settings))
    else:
        retriever = _remote(backend, settings)
    from healer.domain import ActionId, Category

    filters = {
        name: _one_of(value, choices, f"--{name}")
        for name, value, choices in (("category", category, Category), ("action", action, ActionId))
        if value
    }
    priors = _priors(settings)
    try:
        hits = WeightedRetriever(retriever, priors).search(query, k=k, filters=filters or None)
    except (ToolInputError, ToolUnavailable, ConfigError) as exc:
        raise fail(str(exc), "kb search") from exc
    if not hits:
        console.print("no runbook matches")
        return
    for rank, hit in enumerate(hits, 1):
        console.print(
            f"[bold]{rank}. {escape(hit.runbook_id)}[/]  score {hit.score:.4f}  "
            f"[dim]§ {escape(hit.section)} — {escape(hit.source)}[/]"
            + (f"  [dim]{priors[hit.runbook_id].why}[/]" if hit.runbook_id in priors else ""),
            soft_wrap=True,
        )
        for line in matching_lines(hit.text, query):
            console.print(f"     {escape(line[:160])}", soft_wrap=True)


def _priors(settings: HealerSettings) -> dict[str, Prior]:
    """The effectiveness priors from the store's trust records, when they are of one realm
    (an account and region, or the sandbox); none without a store."""
    from healer.cli_common import open_store
    from healer.workflow.outcomes import realm_records, realms
    from knowledge_base.prior import effectiveness

    if settings.store_backend == "sqlite" and not settings.store_path.exists():
        return {}
    store = open_store(settings)
    found = realms(store)
    if len(found) != 1:
        return {}
    return effectiveness(realm_records(store, found[0]).values())


def _one_of(value: str, choices: type[StrEnum], option: str) -> str:
    if value not in {c.value for c in choices}:
        names = ", ".join(c.value for c in choices)
        raise typer.BadParameter(f"{value!r} is not one of {names}", param_hint=option)
    return value


@kb_app.command("eval")
def eval_(
    queries: Annotated[
        Path | None, typer.Option(help="labelled query set (YAML; evals/kb_queries.yaml)")
    ] = None,
    human: Annotated[
        Path | None,
        typer.Option(help="short human queries, reported apart (evals/kb_human_queries.yaml)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Recall@1, recall@3, MRR and latency of hybrid, BM25 alone and embeddings alone; then
    the hybrid on short human queries, and whether unrelated ones find nothing (not gated).

    Exits 1 if the hybrid misses the targets (recall@3 ≥ 0.90, recall@1 ≥ 0.75).
    """
    from evals.kb_eval import HUMAN_QUERIES_PATH, QUERIES_PATH, evaluate, load_queries
    from knowledge_base.hybrid import MODES, HybridRetriever

    queries = queries or QUERIES_PATH
    opened = _open_local(load())
    query_set = load_queries(queries, [r.id for r in opened.runbooks])
    hybrid = _hybrid(opened)
    assert isinstance(hybrid, HybridRetriever)
    reports = [evaluate(mode, hybrid.with_mode(mode), query_set) for mode in MODES]
    human_set = load_queries(human or HUMAN_QUERIES_PATH, [r.id for r in opened.runbooks])
    for_people = evaluate("hybrid, human queries", hybrid, human_set)
    ok = (
        reports[0].recall_at_3 >= TARGET_RECALL_AT_3
        and reports[0].recall_at_1 >= TARGET_RECALL_AT_1
    )
    if as_json:
        out = {
            "queries": str(queries),
            "runbooks": len(opened.runbooks),
            "chunks": len(opened.index.chunks),
            "index": {"built": opened.built, "seconds": round(opened.seconds, 4)},
            "targets": {"recall_at_3": TARGET_RECALL_AT_3, "recall_at_1": TARGET_RECALL_AT_1},
            "meets_targets": ok,
            "reports": [r.model_dump(mode="json") for r in reports],
            "human": for_people.model_dump(mode="json"),
        }
        typer.echo(json.dumps(out, indent=2))
    else:
        _print_reports(reports, opened, ok)
        _print_human(for_people, len(human_set.unrelated))
    if not ok:
        raise typer.Exit(code=1)


def _print_reports(reports: list[RetrievalReport], opened: OpenedIndex, ok: bool) -> None:
    table = Table(title=f"{reports[0].queries} queries over {len(opened.runbooks)} runbooks")
    for column in ("retriever", "recall@1", "recall@3", "MRR", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "retriever" else "right")
    for r in reports:
        table.add_row(
            r.name,
            f"{r.recall_at_1:.3f}",
            f"{r.recall_at_3:.3f}",
            f"{r.mrr:.3f}",
            f"{r.p50_ms:.2f}",
            f"{r.p95_ms:.2f}",
        )
    console.print(table)
    for miss in reports[0].misses:
        console.print(f"[dim]hybrid not first: {escape(miss)}[/]")
    verdict = "[green]meets[/]" if ok else "[red]misses[/]"
    console.print(
        f"hybrid {verdict} the targets (recall@3 ≥ {TARGET_RECALL_AT_3}, "
        f"recall@1 ≥ {TARGET_RECALL_AT_1}); index {'built' if opened.built else 'loaded'} "
        f"in {opened.seconds * 1000:.0f} ms"
    )


def _print_human(report: RetrievalReport, unrelated: int) -> None:
    console.print(
        f"{report.queries} human queries (reported, not gated): recall@1 "
        f"{report.recall_at_1:.3f}, recall@3 {report.recall_at_3:.3f}, MRR {report.mrr:.3f}; "
        f"{unrelated - len(report.unrelated_found)} of {unrelated} unrelated queries found nothing"
    )
    for miss in report.misses:
        console.print(f"[dim]human query, hybrid not first: {escape(miss)}[/]")
    for query in report.unrelated_found:
        console.print(f"[dim]unrelated query found a runbook: {escape(query)}[/]")
