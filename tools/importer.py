"""Import recordings in any format of `tools.capture_formats` through the ingestion path.

Each file's format is detected (or named); its items (lines, records, Parquet rows) are
read in batches and turned into rows by the format's parser (`PARSERS`). With
`ImportWorkers`, batches are parsed by worker processes, which also write the rows
of the append-only tables (raw events, ticks, trades: most of the bytes, and nearly all
the database's work, JSON parsing of the payloads above all) on connections of their own:
those rows depend on no other batch but for their natural keys. This process writes each
batch's facts (players, rounds, sidebets) in file order, so what names no round is placed
in the latest one before it. Without workers, a thread parses the next batch while this
one is written, in one transaction, as the consumer does.

Each batch is committed on its own (with workers: its rows, then its facts), so an
interrupted import keeps what it stored and a second run adds what is missing (natural
keys). Bad lines are reported with their line number and skipped; blank lines ignored.
Rounds stored under another mode than the import's are left alone (`tools.ingest`): each
is reported once, with the first line of it, and counted apart from bad lines.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

from tools.capture_formats import FORMATS, UnreadableFile, batches, detect_format
from tools.ingest import (
    BatchResult,
    PreparedBatch,
    RowCounts,
    check_mode,
    prepare_batch,
    prepare_events,
    prepare_history,
    prepare_replayer,
    write_batch,
)
from tools.ingest_sql import write_appends

__all__ = ["ImportStats", "ImportWorkers", "UnreadableFile", "import_file", "import_files"]

_SHARED_PARSERS = ("replayer", "history")
PARSERS: dict[str, Callable[..., PreparedBatch]] = {
    "messages": prepare_batch,
    "history": prepare_history,
    "replayer": prepare_replayer,
    "events": prepare_events,
}


@dataclass
class ImportStats(RowCounts):
    """Totals over one or more files: lines read, rows added per table, bad lines, and the
    rounds left alone because they are stored under another mode (id -> that mode)."""

    lines: int = 0
    bad_lines: int = 0
    skipped_lines: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, result: BatchResult) -> None:
        self.lines += result.messages
        self.add_counts(result)
        self.bad_lines += len(result.rejected) - len(result.skipped_lines)
        self.skipped_lines += len(result.skipped_lines)
        self.skipped.update(result.skipped)

    def skipped_modes(self) -> dict[str, int]:
        """Rounds left alone per mode they are stored under."""
        return dict(Counter(self.skipped.values()).most_common())


class ImportWorkers:
    """Processes that parse batches and write their append-only rows, each on its own
    connection to `dsn`; the importer writes the rest (facts), in order, on its own.

    Processes, not threads: parsing is CPU-bound Python and would hold the GIL against
    everything else. Started with `spawn` (forking a process that holds connections and
    threads is unsafe). Use as a context manager; one set serves several files."""

    def __init__(self, dsn: str, processes: int) -> None:
        if processes < 1:
            raise ValueError("ImportWorkers needs at least one process")
        self.depth = processes + 1  # batches in flight: one queued for each worker
        self._pool = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open_connection,
            initargs=(dsn,),
        )

    def submit(self, items: list[Any], source: str, parser: str, mode: str) -> Future[_Parsed]:
        return self._pool.submit(_parse_and_append, items, source, parser, mode)

    def __enter__(self) -> ImportWorkers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=error is not None)


class _LocalParser:
    """Without workers: parse the next batch on a thread while this one is written."""

    depth = 2

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-parser")

    def submit(self, items: list[Any], source: str, parser: str, mode: str) -> Future[_Parsed]:
        return self._thread.submit(_parse, items, source, parser)

    def __enter__(self) -> _LocalParser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)


# a parsed batch, and the rows a worker added from it (its raw events, ticks and trades)
_Parsed = tuple[PreparedBatch, RowCounts]
_connection: psycopg.Connection | None = None  # a worker process's own


def _open_connection(dsn: str) -> None:
    global _connection
    _connection = psycopg.connect(dsn, connect_timeout=10)
    # Parsing allocates millions of short-lived, acyclic objects: collections would find
    # nothing, yet cost about a tenth of the parse at the default threshold.
    gc.freeze()
    gc.set_threshold(50_000, 50, 50)


def _parse(items: list[Any], source: str, parser: str) -> _Parsed:
    return PARSERS[parser](items, source=source), RowCounts()


def _parse_and_append(items: list[Any], source: str, parser: str, mode: str) -> _Parsed:
    """In a worker process: parse, then store the append-only rows in one transaction,
    but for rounds stored under another mode (left out of the batch here)."""
    assert _connection is not None, "the pool's initializer opens the connection"
    batch = PARSERS[parser](items, source=source)
    added = RowCounts()
    try:
        batch.skip_rounds(_connection, mode)
        write_appends(_connection, batch.take_appends(), added)
        _connection.commit()
    except BaseException:
        _connection.rollback()
        raise
    return batch, added


def import_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    mode: str = "classic",
    format: str | None = None,
    batch_size: int = 2000,
    stats: ImportStats | None = None,
    workers: ImportWorkers | None = None,
    on_bad_line: Callable[[int, str], None] = lambda line, reason: None,
    on_skipped: Callable[[int, str, str], None] = lambda line, game_id, stored: None,
    on_batch: Callable[[ImportStats], None] = lambda stats: None,
) -> ImportStats:
    """Import one file (see `import_files`); raises UnreadableFile after importing what
    could be read."""
    failures: list[UnreadableFile] = []
    stats = import_files(
        conn,
        [path],
        mode=mode,
        format=format,
        batch_size=batch_size,
        stats=stats,
        workers=workers,
        on_bad_line=lambda _path, line, reason: on_bad_line(line, reason),
        on_skipped=lambda _path, line, game_id, stored: on_skipped(line, game_id, stored),
        on_batch=lambda _path, totals: on_batch(totals),
        on_unreadable=lambda _path, exc: failures.append(exc),
    )
    if failures:
        raise failures[0]
    return stats


def import_files(
    conn: psycopg.Connection,
    paths: Sequence[Path],
    *,
    mode: str = "classic",
    format: str | None = None,
    batch_size: int = 2000,
    stats: ImportStats | None = None,
    workers: ImportWorkers | None = None,
    on_bad_line: Callable[[Path, int, str], None] = lambda path, line, reason: None,
    on_skipped: Callable[[Path, int, str, str], None] = lambda path, line, game, stored: None,
    on_batch: Callable[[Path, ImportStats], None] = lambda path, stats: None,
    on_unreadable: Callable[[Path, UnreadableFile], None] = lambda path, exc: None,
) -> ImportStats:
    """Import files, each in `format` (detected per file when None), committing per
    batch. Batches flow through one pipeline across files, so a folder of small files
    (a REPLAYER file holds a round) keeps the workers busy; facts are still written in
    file order. A file that cannot be read (on) is imported as far as it could be read
    and passed to `on_unreadable`. A round stored under another mode than `mode` is
    passed to `on_skipped` (file, line, round, its mode) at the first line of it, its lines
    to no `on_bad_line`. Without `workers`, each batch is one transaction on `conn`."""
    check_mode(mode)
    if format is not None and format not in FORMATS:
        raise UnreadableFile(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    stats = stats or ImportStats()
    mark = time.perf_counter()

    def settle(fmt: str, where: list[tuple[Path, int]], parsed: Future[_Parsed]) -> None:
        nonlocal mark
        batch, appended = parsed.result()
        result = write_batch(conn, batch, mode=mode, source_format=fmt)
        conn.commit()
        result.add_counts(appended)
        skipped = dict(result.skipped_lines)
        for index, reason in result.rejected:
            game_id = skipped.get(index)
            if game_id is None:
                on_bad_line(*where[index], reason)
            elif game_id not in stats.skipped:
                stats.skipped[game_id] = result.skipped[game_id]
                on_skipped(*where[index], game_id, result.skipped[game_id])
        stats.add(result)
        now = time.perf_counter()
        stats.seconds += now - mark
        mark = now
        on_batch(where[-1][0], stats)

    pending: deque[tuple[str, list[tuple[Path, int]], Future[_Parsed]]] = deque()
    # items of consecutive small files of one format whose rows do not carry the file
    # name (REPLAYER, gameHistory) share batches: one transaction per file would cost
    # more than parsing them
    shared: tuple[str, list[tuple[Path, int]], list[Any]] | None = None
    with _LocalParser() if workers is None else nullcontext(workers) as stage:

        def submit(fmt: str, where: list[tuple[Path, int]], items: list[Any]) -> None:
            while len(pending) >= stage.depth:
                settle(*pending.popleft())
            source = f"import:{where[0][0].name}"
            parser = FORMATS[fmt].parser
            pending.append((fmt, where, stage.submit(items, source, parser, mode)))

        for path in paths:
            try:
                fmt = format or detect_format(path)
                for numbers, items in batches(path, fmt, batch_size):
                    where = [(path, n) for n in numbers]
                    if FORMATS[fmt].parser not in _SHARED_PARSERS:
                        submit(fmt, where, items)
                        continue
                    if shared is not None and shared[0] != fmt:
                        submit(*shared)
                        shared = None
                    if shared is None:
                        shared = (fmt, [], [])
                    shared[1].extend(where)
                    shared[2].extend(items)
                    if len(shared[2]) >= batch_size:
                        submit(*shared)
                        shared = None
            except UnreadableFile as exc:
                on_unreadable(path, exc)
        if shared is not None:
            submit(*shared)
        while pending:
            settle(*pending.popleft())
    return stats
