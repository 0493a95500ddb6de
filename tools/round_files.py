"""Rounds read from files for `agent-service verify PATH`, one reader per format.

A reader yields `RoundRecord`s (game.fairness.records) and, for a record it cannot
take, `BadRecord(line, reason)`, then goes on; input it cannot read past raises
`UnreadableRounds` (`file:line: reason`). A file's format is detected as the importer
detects it (tools.capture_formats); `format=` picks one by name. gameHistory records
(JSON, Parquet games) are read strictly, record by record; the other formats go through
the importer's parsers, and each round they show becomes a record: gameHistory records
inside messages, rounds whose rug revealed their seed, REPLAYER rounds (no seed: they
are reported, not verified).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from game.fairness.records import RoundRecord
from tools.capture_formats import FORMATS as CAPTURE_FORMATS
from tools.capture_formats import UnreadableFile, batches, detect_format
from tools.rounds import RoundTracker

_GZIP_MAGIC = b"\x1f\x8b"


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
    name: str
    read: RoundReader


def read_rounds(path: Path, *, format: str | None = None) -> Iterator[RoundRecord | BadRecord]:
    """The rounds of `path` (gzip or not) in its format, detected unless named."""
    if format is None:
        try:
            format = detect_format(path)
        except UnreadableFile as exc:
            raise UnreadableRounds(path, None, str(exc).removeprefix(f"{path}: ")) from None
    if format not in FORMATS:
        raise UnreadableRounds(path, None, f"unknown format {format!r}; known: {list(FORMATS)}")
    return FORMATS[format].read(path)


def read_bytes(path: Path) -> bytes:
    """The whole file, decompressed when it is gzip."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            return handle.read()
    except (OSError, EOFError) as exc:
        raise UnreadableRounds(path, None, f"cannot read: {exc}") from None


# -- gameHistory JSON: a list of records, one record, or records one per line


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


def read_parquet_games(path: Path) -> Iterator[RoundRecord | BadRecord]:
    """The rows of a `games_YYYY-MM-DD.parquet` file, as gameHistory records."""
    try:
        for numbers, rows in batches(path, "parquet_games", 2048):
            for line, row in zip(numbers, rows, strict=True):
                try:
                    yield RoundRecord.from_game_history(row, source=f"{path}:{line}")
                except ValueError as exc:
                    yield BadRecord(line, str(exc))
    except UnreadableFile as exc:
        raise UnreadableRounds(path, None, str(exc).removeprefix(f"{path}: ")) from None


def _parsed_reader(fmt: str) -> RoundReader:
    """A reader going through the importer's parser of `fmt`: every round the file
    shows, with the prices, rug tick, seeds and version the import would store."""

    def read(path: Path) -> Iterator[RoundRecord | BadRecord]:
        from tools.importer import PARSERS

        numbers: list[int] = []
        items: list[object] = []
        broken: UnreadableFile | None = None
        try:
            for chunk_numbers, chunk in batches(path, fmt, 10_000):
                numbers.extend(chunk_numbers)
                items.extend(chunk)
        except UnreadableFile as exc:
            broken = exc  # the rounds read before it are still given
        batch = PARSERS[CAPTURE_FORMATS[fmt].parser](items, source=f"verify:{path.name}")
        for index, reason in batch.rejected:
            yield BadRecord(numbers[index], reason)
        yield from _tracked_records(batch.rounds, str(path))
        if broken is not None:
            raise UnreadableRounds(path, None, str(broken).removeprefix(f"{path}: "))

    return read


def _tracked_records(rounds: RoundTracker, source: str) -> Iterator[RoundRecord]:
    """One record per round with a price or a rug; prices from its first seen tick."""
    paths: dict[str, dict[int, float]] = {}
    for (game_id, tick), (_, price) in rounds.ticks.items():
        paths.setdefault(game_id, {})[tick] = price
    for game_id in sorted(rounds.games):
        facts = rounds.games[game_id]
        ticks = {
            t: p for t, p in paths.get(game_id, {}).items()
            if facts.rug_tick is None or t < facts.rug_tick
        }  # fmt: skip
        if not ticks and facts.rug_tick is None:
            continue
        first = min(ticks) if ticks else 0
        prices = np.full(max(ticks) - first + 1 if ticks else 0, np.nan)
        for tick, price in ticks.items():
            prices[tick - first] = price
        yield RoundRecord(
            game_id=game_id,
            server_seed=facts.server_seed,
            server_seed_hash=facts.server_seed_hash,
            version=facts.game_version,
            prices=prices,
            rug_tick=facts.rug_tick,
            first_tick=first,
            source=source,
        )


FORMATS: dict[str, RoundFormat] = {
    "game_history": RoundFormat("game_history", read_game_history),
    "parquet_games": RoundFormat("parquet_games", read_parquet_games),
    **{
        name: RoundFormat(name, _parsed_reader(name))
        for name in ("legacy", "websocket", "replayer", "parquet_events")
    },
}
