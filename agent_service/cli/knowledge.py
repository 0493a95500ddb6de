"""`agent-service knowledge ...`: ingest documents, seed the starter base, search.

In Qdrant's local mode the folder belongs to one process at a time: while
`agent-service serve` runs, these commands cannot open it and say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent_service.config import SettingsError, load_settings
from tools.errors import BackendUnavailable, ServiceError
from tools.knowledge_collections import COLLECTIONS, TEXT_SUFFIXES

if TYPE_CHECKING:  # the Qdrant client loads with the command that uses it
    from tools.knowledge import IngestReport, KnowledgeBase


@click.group()
def knowledge() -> None:
    """The knowledge base in Qdrant (collections: external_docs, rugs_protocol, rl_design,
    agent_insights)."""


@contextmanager
def _knowledge_base() -> Iterator[KnowledgeBase]:
    from agent_service.wiring import Backends, Prepared

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    # these commands never touch PostgreSQL: its pool opens only on first use
    backends = Backends(Prepared(settings, database_url="", api_key_created=False))
    try:
        try:
            kb = backends.knowledge()
        except BackendUnavailable as exc:
            if settings.qdrant_mode == "embedded":
                raise click.ClickException(
                    f"cannot open the Qdrant local-mode folder {settings.qdrant_path}: "
                    f"{exc.detail}\nOnly one process may open it: stop `agent-service serve` "
                    "(or any other command using it) and retry, or set QDRANT_URL to a "
                    "Qdrant server, which any number of processes can share."
                ) from None
            raise click.ClickException(str(exc)) from None
        yield kb
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        backends.close()


def _documents(paths: tuple[Path, ...]) -> Iterator[tuple[Path, str]]:
    """(file, source name): a file is named by itself, a folder's files by
    `<folder name>/<path inside it>`."""
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and file.suffix.lower() in TEXT_SUFFIXES:
                    yield file, f"{path.resolve().name}/{file.relative_to(path).as_posix()}"
        else:
            yield path, path.name


def _describe(report: IngestReport) -> str:
    if report.unchanged:
        return f"unchanged ({report.chunks} chunks)"
    removed = f", {report.removed} old removed" if report.removed else ""
    return f"{report.chunks} chunks{removed}"


@knowledge.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--collection", required=True, type=click.Choice(COLLECTIONS), help="Target collection."
)
@click.option(
    "--mode",
    help="The game mode whose rules the documents are written for: the coach quotes them "
    "only for modes whose models agree (docs/modes.md).",
)
def ingest(paths: tuple[Path, ...], collection: str, mode: str | None) -> None:
    """Chunk, embed and store Markdown/text files or folders; a changed file replaces its
    chunks, an unchanged one is skipped. Exit 1 when some file could not be read."""
    failed = 0
    extra = {"mode": mode} if mode else None
    with _knowledge_base() as kb:
        for file, source in _documents(paths):
            try:
                report = kb.ingest(file, collection, source=source, extra=extra)
            except (UnicodeDecodeError, OSError) as exc:
                click.echo(f"{file}: cannot read: {exc}", err=True)
                failed += 1
                continue
            except ServiceError as exc:
                if isinstance(exc, BackendUnavailable):
                    raise
                click.echo(f"{file}: {exc.detail}", err=True)
                failed += 1
                continue
            click.echo(f"{collection}: {source}: {_describe(report)}")
    if failed:
        raise SystemExit(1)


@knowledge.command("seed")
def seed_command() -> None:
    """Ingest the starter knowledge base shipped with the service (idempotent)."""
    from tools.knowledge_base import seed

    with _knowledge_base() as kb:
        for report in seed(kb):
            click.echo(f"{report.collection}: {report.source}: {_describe(report)}")


@knowledge.command("search")
@click.argument("query")
@click.option(
    "--collection",
    "collections",
    multiple=True,
    type=click.Choice(COLLECTIONS),
    help="Collection to search (repeatable; default all).",
)
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 50))
def search_command(query: str, collections: tuple[str, ...], top_k: int) -> None:
    """Print the chunks closest to QUERY."""
    with _knowledge_base() as kb:
        result = kb.search_result(query, list(collections) or None, top_k)
    if result.fallback:
        click.echo(f"(fallback: {result.fallback_reason})", err=True)
    for chunk in result.chunks:
        click.echo(f"{chunk.score:.3f}  [{chunk.collection}] {chunk.source}: {chunk.heading}")
        click.echo("       " + chunk.text[:200].replace("\n", " "))
