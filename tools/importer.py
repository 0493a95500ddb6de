"""Import recordings (legacy JSONL, optionally gzipped) through `ingest_batch`.

Each batch is committed on its own, so an interrupted import keeps what it stored and a
second run adds only what is missing (natural keys). Bad lines are reported with their
line number and skipped; blank lines are ignored.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psycopg

from tools.ingest import BatchResult, PreparedBatch, check_mode, prepare_batch, write_batch

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class ImportStats:
    """Totals over one or more files: lines read, rows added per table, bad lines."""

    lines: int = 0
    events: int = 0
    games: int = 0
    ticks: int = 0
    trades: int = 0
    sidebets: int = 0
    players: int = 0
    bad_lines: int = 0
    seconds: float = 0.0

    def add(self, result: BatchResult) -> None:
        self.lines += result.messages
        self.events += result.events
        self.games += result.games
        self.ticks += result.ticks
        self.trades += result.trades
        self.sidebets += result.sidebets
        self.players += result.players
        self.bad_lines += len(result.rejected)


class UnreadableFile(Exception):
    """A recording that cannot be read to its end (e.g. a truncated gzip)."""


def import_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    mode: str = "classic",
    batch_size: int = 2000,
    stats: ImportStats | None = None,
    on_bad_line: Callable[[int, str], None] = lambda line, reason: None,
    on_batch: Callable[[ImportStats], None] = lambda stats: None,
) -> ImportStats:
    """Import one file, committing per batch; raises UnreadableFile after importing what
    could be read. Parsing a batch overlaps with writing the previous one (a writer
    thread owns the connection meanwhile), so Python and PostgreSQL work in parallel."""
    check_mode(mode)
    stats = stats or ImportStats()
    source = f"import:{path.name}"
    mark = time.perf_counter()

    def write(batch: PreparedBatch, numbers: list[int]) -> tuple[BatchResult, list[int]]:
        result = write_batch(conn, batch, mode=mode)
        conn.commit()
        return result, numbers

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer:
        pending: Future[tuple[BatchResult, list[int]]] | None = None

        def settle() -> None:
            nonlocal pending, mark
            if pending is None:
                return
            result, numbers = pending.result()
            pending = None
            for index, reason in result.rejected:
                on_bad_line(numbers[index], reason)
            stats.add(result)
            now = time.perf_counter()
            stats.seconds += now - mark
            mark = now
            on_batch(stats)

        try:
            for numbers, lines in _batches(path, batch_size):
                batch = prepare_batch(lines, source=source)
                settle()
                pending = writer.submit(write, batch, numbers)
        finally:
            settle()
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
