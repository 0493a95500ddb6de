"""The recording formats `agent-service import` and `verify` read, and how a file's is found.

- `legacy`: JSONL `{seq, ts, event, data, source, direction}` (the service's own).
- `websocket`: the bot's raw captures, JSONL `{timestamp, event_type, data}`.
- `replayer`: the bot's REPLAYER per-tick JSONL (`game_start`, `tick`, `game_end` lines).
- `game_history`: `gameHistory` records, a JSON list or one record a line.
- `parquet_games`: the recording service's `games_YYYY-MM-DD.parquet`, one row a record
  (nested fields as structs or JSON strings) plus `_captured_at, _capture_date, ...`.
- `parquet_events`: the event store (`ts, source, doc_type, ..., raw_json, event_name`).

`detect_format` reads a file's first bytes (decompressed) or, for Parquet, its schema.
`batches` yields a file's items `size` at a time with their line (row) numbers; each
format's `parser` names the `tools.ingest` function that turns items into a batch.
"""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from tools.protocol import Rejected

_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 64 * 1024
_SNIFF_MAX = 16 * 1024 * 1024  # a first line longer than this is not a recording's
_SNIFF_LINES = 20
# gameHistory fields the recording service writes as JSON strings (or structs)
_NESTED = ("prices", "provablyFair", "globalTrades", "globalSidebets")


class UnreadableFile(Exception):
    """A recording that cannot be read (on): `path: reason`, or `path:line: reason`."""


@dataclass(frozen=True)
class CaptureFormat:
    name: str
    parser: str  # "messages" | "history" | "replayer" | "events" (tools.importer.PARSERS)


FORMATS: dict[str, CaptureFormat] = {
    f.name: f
    for f in (
        CaptureFormat("legacy", "messages"),
        CaptureFormat("websocket", "messages"),
        CaptureFormat("replayer", "replayer"),
        CaptureFormat("game_history", "history"),
        CaptureFormat("parquet_games", "history"),
        CaptureFormat("parquet_events", "events"),
    )
}


def detect_format(path: Path) -> str:
    """The format of `path`; UnreadableFile when it is none of `FORMATS`."""
    head = _head(path)
    if head.startswith(_PARQUET_MAGIC):
        columns = set(_parquet_file(path).schema_arrow.names)
        if "raw_json" in columns:
            return "parquet_events"
        if {"id", "prices"} <= columns:
            return "parquet_games"
        raise UnreadableFile(
            f"{path}: a Parquet file with neither `raw_json` (event store) nor `id, prices` "
            f"(games) columns: {sorted(columns)}"
        )
    found = sniff_text(head)
    if found is None:
        raise UnreadableFile(
            f"{path}: not a recording format import reads ({', '.join(FORMATS)}); "
            "name one with --format"
        )
    return found


def sniff_text(head: bytes) -> str | None:
    """The text format whose record shape the first parseable lines show, or None."""
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if text.startswith(b"["):
        return "game_history"
    for line in text.splitlines()[:_SNIFF_LINES]:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a truncated line, or a record spread over lines
        if isinstance(value, list) and value and isinstance(value[-1], dict):
            value = value[-1]  # a trace preamble, then the message
        if not isinstance(value, dict):
            continue
        if "event_type" in value and "data" in value:
            return "websocket"
        if "event" in value and "data" in value:
            return "legacy"
        if value.get("type") in ("game_start", "tick", "game_end") and "game_id" in value:
            return "replayer"
        if "id" in value and "prices" in value:
            return "game_history"
    if text.startswith(b"{") and b'"prices"' in head and b'"id"' in head:
        return "game_history"  # one record, pretty-printed over several lines
    return None


def batches(path: Path, fmt: str, size: int) -> Iterator[tuple[list[int], list[Any]]]:
    """(line numbers, items) `size` at a time; what was read before a read error is
    yielded before UnreadableFile is raised."""
    if fmt in ("legacy", "websocket", "replayer"):
        items = _lines(path)
    elif fmt == "game_history":
        items = _history_values(path)
    elif fmt == "parquet_games":
        items = ((n, _history_row(row)) for n, row in _parquet_rows(path))
    elif fmt == "parquet_events":
        items = ((n, _event_row(row)) for n, row in _parquet_rows(path))
    else:
        raise UnreadableFile(f"{path}: unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    numbers: list[int] = []
    chunk: list[Any] = []
    try:
        for number, item in items:
            numbers.append(number)
            chunk.append(item)
            if len(chunk) >= size:
                yield numbers, chunk
                numbers, chunk = [], []
    except UnreadableFile:
        if chunk:
            yield numbers, chunk
        raise
    if chunk:
        yield numbers, chunk


def open_bytes(path: Path) -> BinaryIO:
    """The file, decompressed when it is gzip."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else path.open("rb")  # type: ignore[return-value]


def _head(path: Path) -> bytes:
    """The first 64 KiB, or up to the end of the first line when it is longer (a
    transition message with ten rounds of gameHistory runs past 100 KiB), as far as they
    can be read (a truncated gzip is imported up to where it breaks, and reported there)."""
    chunks: list[bytes] = []
    size, lined = 0, False
    try:
        with open_bytes(path) as handle:
            # small reads: a truncated gzip loses only the read it breaks in
            while (size < _SNIFF_BYTES or (size < _SNIFF_MAX and not lined)) and (
                chunk := handle.read(4096)
            ):
                chunks.append(chunk)
                size += len(chunk)
                lined = lined or b"\n" in chunk
    except (OSError, EOFError) as exc:
        if not chunks:
            raise UnreadableFile(f"{path}: cannot read: {exc}") from None
    return b"".join(chunks)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their numbers."""
    number = 0
    try:
        with open_bytes(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFile(f"{path}: unreadable after line {number}: {exc}") from exc


def _history_values(path: Path) -> Iterator[tuple[int, Any]]:
    """The records of a gameHistory file (a JSON list, or values one after another)."""
    from tools.round_files import UnreadableRounds, json_values, read_bytes

    try:
        text = read_bytes(path).decode("utf-8")
        yield from json_values(path, text)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path}: not UTF-8: {exc}") from None
    except UnreadableRounds as exc:
        raise UnreadableFile(str(exc)) from None


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise UnreadableFile(f"{path}: not a readable Parquet file: {exc}") from None


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows as dicts, numbered from 1, a record batch at a time."""
    number = 0
    try:
        for batch in _parquet_file(path).iter_batches(batch_size=2048):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except (OSError, ValueError) as exc:
        raise UnreadableFile(f"{path}: unreadable after row {number}: {exc}") from None


def _history_row(row: dict[str, Any]) -> dict[str, Any]:
    """A games Parquet row as its gameHistory record: JSON-string fields decoded (a bad
    one is left as it is, for the record's validation to name); metadata kept aside."""
    record = {k: v for k, v in row.items() if not k.startswith("_")}
    for key in _NESTED:
        value = record.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # the record's validation names it
                record[key] = json.loads(value)
    if record.get("timestamp") is None and isinstance(row.get("_captured_at"), str):
        record["timestamp"] = row["_captured_at"]
    return record


_DOC_EVENTS = {"game_tick": "gameStateUpdate", "server_state": "playerUpdate"}


def _event_row(row: dict[str, Any]) -> dict[str, Any] | bytes | Rejected:
    """An event store row as a message envelope: `raw_json` holds `{event, data}` (a
    `ws_event`) or the data alone (named by `event_name`, else by its `doc_type`); a
    `complete_game` row's record is returned as it is (tools.ingest.prepare_events)."""
    raw = row.get("raw_json")
    if not isinstance(raw, str):
        return Rejected("raw_json: missing")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejected(f"raw_json: not JSON: {exc}")
    if isinstance(value, dict) and "event" not in value and "prices" in value and "id" in value:
        return value
    doc_type = row.get("doc_type")
    if isinstance(value, dict) and "event" in value and "data" in value:
        envelope = dict(value)
    else:
        event = row.get("event_name") or row.get("action_type") or _DOC_EVENTS.get(doc_type)
        envelope = {"event": event or doc_type, "data": value}
    ts = row.get("ts")
    envelope["ts"] = ts.isoformat() if hasattr(ts, "isoformat") else ts
    for key in ("seq", "source", "direction"):
        if row.get(key) is not None:
            envelope[key] = row[key]
    return envelope
