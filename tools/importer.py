"""Import recordings (legacy JSONL, optionally gzipped) through `ingest_batch`.

Each batch is committed on its own, so an interrupted import keeps what it stored and a
second run adds only what is missing (natural keys). Bad lines are reported with their
line number and skipped; blank lines are ignored.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psycopg

from tools.ingest import BatchResult, ingest_batch

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
    could be read."""
    stats = stats or ImportStats()
    source = f"import:{path.name}"
    numbers: list[int] = []
    lines: list[bytes] = []
    last = 0
    mark = time.perf_counter()

    def flush() -> None:
        nonlocal mark
        result = ingest_batch(conn, lines, source=source, mode=mode)
        conn.commit()
        for index, reason in result.rejected:
            on_bad_line(numbers[index], reason)
        stats.add(result)
        now = time.perf_counter()
        stats.seconds += now - mark
        mark = now
        numbers.clear()
        lines.clear()
        on_batch(stats)

    try:
        for last, line in _numbered_lines(path):
            if not line.strip():
                continue
            numbers.append(last)
            lines.append(line)
            if len(lines) >= batch_size:
                flush()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        if lines:
            flush()
        raise UnreadableFile(f"{path}: unreadable after line {last}: {exc}") from exc
    if lines:
        flush()
    return stats


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
    handle: BinaryIO
    with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
        yield from enumerate(handle, start=1)
