"""Import recordings (legacy JSONL, optionally gzipped) through the ingestion path.

With `ImportWorkers`, batches are parsed by worker processes, which also write the rows
of the append-only tables (raw events, ticks, trades: most of the bytes, and nearly all
the database's work, JSON parsing of the payloads above all) on connections of their own:
those rows depend on no other batch but for their natural keys. This process writes each
batch's facts (players, rounds, sidebets) in file order, so what names no round is placed
in the latest one before it. Without workers, a thread parses the next batch while this
one is written, in one transaction, as the consumer does.

Each batch is committed on its own (with workers: its rows, then its facts), so an
interrupted import keeps what it stored and a second run adds what is missing (natural
keys). Bad lines are reported with their line number and skipped; blank lines ignored.
"""

from __future__ import annotations

import gc
import gzip
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import psycopg

from tools.ingest import (
    BatchResult,
    PreparedBatch,
    RowCounts,
    check_mode,
    prepare_batch,
    write_batch,
)
from tools.ingest_sql import write_appends

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class ImportStats(RowCounts):
    """Totals over one or more files: lines read, rows added per table, bad lines."""

    lines: int = 0
    bad_lines: int = 0
    seconds: float = 0.0

    def add(self, result: BatchResult) -> None:
        self.lines += result.messages
        self.add_counts(result)
        self.bad_lines += len(result.rejected)


class UnreadableFile(Exception):
    """A recording that cannot be read to its end (e.g. a truncated gzip)."""


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

    def submit(self, lines: list[bytes], source: str) -> Future[_Parsed]:
        return self._pool.submit(_parse_and_append, lines, source)

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

    def submit(self, lines: list[bytes], source: str) -> Future[_Parsed]:
        return self._thread.submit(_parse, lines, source)

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


def _parse(lines: list[bytes], source: str) -> _Parsed:
    return prepare_batch(lines, source=source), RowCounts()


def _parse_and_append(lines: list[bytes], source: str) -> _Parsed:
    """In a worker process: parse, then store the append-only rows in one transaction."""
    assert _connection is not None, "the pool's initializer opens the connection"
    batch = prepare_batch(lines, source=source)
    added = RowCounts()
    try:
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
    batch_size: int = 2000,
    stats: ImportStats | None = None,
    workers: ImportWorkers | None = None,
    on_bad_line: Callable[[int, str], None] = lambda line, reason: None,
    on_batch: Callable[[ImportStats], None] = lambda stats: None,
) -> ImportStats:
    """Import one file, committing per batch; raises UnreadableFile after importing what
    could be read. Without `workers`, each batch is one transaction on `conn`."""
    check_mode(mode)
    stats = stats or ImportStats()
    source = f"import:{path.name}"
    mark = time.perf_counter()

    def settle(numbers: list[int], parsed: Future[_Parsed]) -> None:
        nonlocal mark
        batch, appended = parsed.result()
        result = write_batch(conn, batch, mode=mode)
        conn.commit()
        result.add_counts(appended)
        for index, reason in result.rejected:
            on_bad_line(numbers[index], reason)
        stats.add(result)
        now = time.perf_counter()
        stats.seconds += now - mark
        mark = now
        on_batch(stats)

    pending: deque[tuple[list[int], Future[_Parsed]]] = deque()
    with _LocalParser() if workers is None else nullcontext(workers) as stage:
        try:
            for numbers, lines in _batches(path, batch_size):
                while len(pending) >= stage.depth:
                    settle(*pending.popleft())
                pending.append((numbers, stage.submit(lines, source)))
        except UnreadableFile:
            while pending:  # what was read before the error is imported and counted
                settle(*pending.popleft())
            raise
        while pending:
            settle(*pending.popleft())
    return stats


def _batches(path: Path, size: int) -> Iterator[tuple[list[int], list[bytes]]]:
    """Non-blank lines with their numbers, `size` at a time; what was read before a read
    error is yielded before UnreadableFile is raised."""
    numbers: list[int] = []
    lines: list[bytes] = []
    number = 0
    try:
        for number, line in _numbered_lines(path):
            if line.strip():
                numbers.append(number)
                lines.append(line)
                if len(lines) >= size:
                    yield numbers, lines
                    numbers, lines = [], []
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        if lines:
            yield numbers, lines
        raise UnreadableFile(f"{path}: unreadable after line {number}: {exc}") from exc
    if lines:
        yield numbers, lines


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
    handle: BinaryIO
    with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
        yield from enumerate(handle, start=1)
