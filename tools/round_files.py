"""Rounds read from files for `agent-service verify PATH`, one reader per format.

A reader yields `RoundRecord`s (game.fairness.records) and, for a record it cannot
take, `BadRecord(line, reason)`, then goes on; input it cannot read past raises
`UnreadableRounds` (`file:line: reason`). Formats are tried in the order of `FORMATS`
by their `sniff` (the file's first bytes); `format=` picks one by name. This module
reads the gameHistory JSON format; readers of other formats (websocket captures,
REPLAYER recordings, Parquet) register in `FORMATS` the same way.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from game.fairness.records import RoundRecord

_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class BadRecord:
    """A record a reader skipped: its line in the file and why."""

    line: int
    reason: str


class UnreadableRounds(Exception):
    """A file that cannot be read (on): `path:line: reason`."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")
        self.path, self.line, self.reason = path, line, reason


RoundReader = Callable[[Path], Iterator[RoundRecord | BadRecord]]


@dataclass(frozen=True)
class RoundFormat:
    """`sniff(first bytes, decompressed)` says whether a file is in this format."""

    name: str
    sniff: Callable[[bytes], bool]
    read: RoundReader


def read_rounds(path: Path, *, format: str | None = None) -> Iterator[RoundRecord | BadRecord]:
    """The rounds of `path` (gzip or not) in its format, detected unless named."""
    if format is not None:
        if format not in FORMATS:
            raise UnreadableRounds(path, None, f"unknown format {format!r}; known: {list(FORMATS)}")
        return FORMATS[format].read(path)
    head = _head(path)
    for known in FORMATS.values():
        if known.sniff(head):
            return known.read(path)
    raise UnreadableRounds(
        path, None, f"not a format verify reads ({', '.join(FORMATS)}); for a recording of "
        "messages, import it and run `verify --from-db`",
    )  # fmt: skip


def read_bytes(path: Path) -> bytes:
    """The whole file, decompressed when it is gzip."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            return handle.read()
    except (OSError, EOFError) as exc:
        raise UnreadableRounds(path, None, f"cannot read: {exc}") from None


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            return handle.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise UnreadableRounds(path, None, f"cannot read: {exc}") from None


# -- gameHistory JSON: a list of records, one record, or records one per line


def _sniff_game_history(head: bytes) -> bool:
    text = head.lstrip()
    if text.startswith(b"["):
        text = text[1:].lstrip()
    return text.startswith(b"{") and b'"prices"' in head and b'"id"' in head


def read_game_history(path: Path) -> Iterator[RoundRecord | BadRecord]:
    """gameHistory records (`id, prices[], rugged, gameVersion, provablyFair{serverSeed,
    serverSeedHash}`) as a JSON list, or as JSON values one after another (JSON lines)."""
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableRounds(path, None, f"not UTF-8: {exc}") from None
    for line, value in json_values(path, text):
        if (
            isinstance(value, dict)
            and "data" in value
            and ("event" in value or "event_type" in value)
        ):
            yield BadRecord(line, "a recorded message, not a gameHistory record (import it, "
                            "then run `verify --from-db`)")  # fmt: skip
            continue
        try:
            yield RoundRecord.from_game_history(value, source=f"{path}:{line}")
        except ValueError as exc:
            yield BadRecord(line, str(exc))


def json_values(path: Path, text: str) -> Iterator[tuple[int, object]]:
    """(line, value) of each element of a top-level list, or of each top-level value."""
    decoder = json.JSONDecoder()
    pos, line, counted = 0, 1, 0

    def skip(pos: int, separators: str) -> int:
        while pos < len(text) and text[pos] in separators:
            pos += 1
        return pos

    def line_at(pos: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, pos)
        counted = pos
        return line

    pos = skip(pos, " \t\r\n\ufeff")
    in_list = text.startswith("[", pos)
    if in_list:
        pos = skip(pos + 1, " \t\r\n")
    while pos < len(text):
        if in_list and text.startswith("]", pos):
            after = skip(pos + 1, " \t\r\n")
            if after < len(text):
                raise UnreadableRounds(path, line_at(after), "text after the end of the list")
            return
        start = line_at(pos)
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise UnreadableRounds(path, line_at(exc.pos), f"invalid JSON: {exc.msg}") from None
        yield start, value
        pos = skip(pos, " \t\r\n")
        if in_list and pos < len(text):
            if text.startswith(",", pos):
                pos = skip(pos + 1, " \t\r\n")
            elif not text.startswith("]", pos):
                raise UnreadableRounds(path, line_at(pos), "expected ',' or ']' in the list")
    if in_list:
        raise UnreadableRounds(path, line_at(pos), "the list is not closed (truncated file?)")


FORMATS: dict[str, RoundFormat] = {
    "game_history": RoundFormat("game_history", _sniff_game_history, read_game_history),
}
