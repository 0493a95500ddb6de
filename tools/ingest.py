"""Write protocol messages into the event and game tables, idempotently, in batches.

`ingest_batch` parses a batch, derives what it implies (raw events, rounds, ticks, trades,
sidebets, players) and writes it with a few set-based statements per table (binary COPY
for the append-only tables, upserts over arrays for the facts), inside the caller's
transaction: it never commits, so a consumer can ack only after its commit and an
importer can commit per batch.

Idempotence and order: every table has a natural key (see docs/data.md); rows already
stored are left alone (a COPY meeting a stored key falls back to `ON CONFLICT DO
NOTHING`; on TimescaleDB, whose unique indexes must include time, keys are checked
first), and facts that refine
with more evidence merge commutatively (`LEAST` rug tick and end time, `GREATEST` peak,
`COALESCE` seeds). Redelivering a batch, or delivering its messages in another order or
split differently, yields the same rows, except that a tick seen twice keeps the time of
the message stored first.

Modes: a round is stored under one mode, the one of the batch that first stored it. A
batch of another mode leaves such a round alone (`PreparedBatch.skip_rounds`): nothing of
it is written, and the lines whose round it is are rejected, so merging facts never mixes
two rounds that share an id (simulated rounds of two modes did, before ids named their
mode) and a mode given by mistake does not go unnoticed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from pydantic import ValidationError

from tools.errors import InvalidInput
from tools.ingest_sql import AppendRows, write_appends, write_facts
from tools.protocol import (
    CurrentSidebet,
    CurrentSidebetResult,
    Envelope,
    GameHistoryEntry,
    GameStateUpdate,
    HistorySidebet,
    NewTrade,
    Rejected,
    ReplayerLine,
    first_error,
    parse_envelope,
    parse_time,
)
from tools.rounds import RoundTracker

_MODE = re.compile(r"^[a-z0-9_]{1,32}$")
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
SELF = "self"  # player id of the authenticated account when its messages do not name it


@dataclass
class RowCounts:
    """Rows added, per table."""

    events: int = 0
    games: int = 0
    ticks: int = 0
    trades: int = 0
    sidebets: int = 0
    players: int = 0

    def add_counts(self, other: RowCounts) -> None:
        for name in _COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNTED = tuple(f.name for f in fields(RowCounts))


@dataclass
class BatchResult(RowCounts):
    """What a batch added (new rows per table) and which messages it rejected, why."""

    messages: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # rounds left alone because they are stored under another mode (id -> that mode), and
    # which of the rejections are their lines (index, round)
    skipped: dict[str, str] = field(default_factory=dict)
    skipped_lines: list[tuple[int, str]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.messages - len(self.rejected)


def ingest_batch(
    conn: psycopg.Connection,
    messages: Sequence[bytes | str | dict],
    *,
    source: str,
    mode: str = "classic",
    received_at: datetime | None = None,
    sidebet_window: int = 40,
) -> BatchResult:
    """Store what `messages` imply; no commit. Messages without their own `ts` are dated
    `received_at` (default: now). `mode` tags rounds first seen in this batch; rounds
    stored under another mode are left alone, their lines rejected.
    `sidebet_window` gives a sidebet's last covered tick when the server omits it."""
    check_mode(mode)
    batch = prepare_batch(
        messages, source=source, received_at=received_at, sidebet_window=sidebet_window
    )
    return write_batch(conn, batch, mode=mode)


def check_mode(mode: str) -> None:
    if not _MODE.match(mode):
        raise InvalidInput(f"mode {mode!r}: expected lowercase letters, digits, underscores")


def prepare_batch(
    messages: Sequence[bytes | str | dict],
    *,
    source: str,
    received_at: datetime | None = None,
    sidebet_window: int = 40,
) -> PreparedBatch:
    """The parsing half of `ingest_batch` (no database): lets an importer parse the next
    batch while the previous one is being written."""
    batch = PreparedBatch(len(messages), received_at or datetime.now(UTC), sidebet_window)
    for index, raw in enumerate(messages):
        envelope = parse_envelope(raw, source=source)
        if isinstance(envelope, Rejected):
            batch.rejected.append((index, envelope.reason))
        else:
            reason = batch.add(index, envelope)
            if reason is not None:
                batch.rejected.append((index, reason))
    return batch


def prepare_history(
    records: Sequence[bytes | str | dict], *, source: str, received_at: datetime | None = None
) -> PreparedBatch:
    """A batch of `gameHistory` records (JSON files, Parquet rows): complete rounds with
    their ticks, seeds, version, trades and sidebets; no raw events."""
    batch = PreparedBatch(len(records), received_at or datetime.now(UTC), 40)
    for index, raw in enumerate(records):
        reason = batch.add_history(index, raw)
        if reason is not None:
            batch.rejected.append((index, reason))
    return batch


def prepare_events(
    items: Sequence[bytes | str | dict | Rejected],
    *,
    source: str,
    received_at: datetime | None = None,
) -> PreparedBatch:
    """A batch of the bot's event store rows, each a message envelope or, for complete
    games, a `gameHistory` record (an object with `id` and `prices` and no `event`)."""
    batch = PreparedBatch(len(items), received_at or datetime.now(UTC), 40)
    for index, raw in enumerate(items):
        if isinstance(raw, Rejected):
            reason = raw.reason
        elif isinstance(raw, dict) and "event" not in raw and "prices" in raw:
            reason = batch.add_history(index, raw)
        else:
            envelope = parse_envelope(raw, source=source)
            if isinstance(envelope, Rejected):
                reason = envelope.reason
            else:
                reason = batch.add(index, envelope)
        if reason is not None:
            batch.rejected.append((index, reason))
    return batch


def prepare_replayer(
    lines: Sequence[bytes | str | dict], *, source: str, received_at: datetime | None = None
) -> PreparedBatch:
    """A batch of REPLAYER lines (`game_start`, `tick`, `game_end`): rounds and their tick
    prices. Each line is a fact on its own, so batches and files merge in any order."""
    batch = PreparedBatch(len(lines), received_at or datetime.now(UTC), 40)
    for index, raw in enumerate(lines):
        reason = batch.add_replayer(index, raw)
        if reason is not None:
            batch.rejected.append((index, reason))
    return batch


def write_batch(
    conn: psycopg.Connection,
    batch: PreparedBatch,
    *,
    mode: str,
    source_format: str | None = None,
) -> BatchResult:
    """The writing half of `ingest_batch`: a few statements per table, no commit, none of
    them about rounds stored under another mode than `mode` (`PreparedBatch.skip_rounds`).
    Rows an importer took already (`PreparedBatch.take_appends`) are not counted here.
    `source_format` names the recording format rounds first stored here came from."""
    check_mode(mode)
    if conn.autocommit:
        raise ValueError("ingestion writes in the caller's transaction: turn autocommit off")
    resolved = batch.resolve_games(conn)
    batch.skip_rounds(conn, mode)
    result = BatchResult(
        messages=batch.messages,
        rejected=sorted(batch.rejected + resolved),
        skipped=batch.skipped,
        skipped_lines=batch.skipped_lines,
    )
    write_appends(conn, batch.take_appends(), result)
    write_facts(conn, batch, mode, result, source_format)
    return result


class PreparedBatch:
    """Rows of one batch, deduplicated on their natural keys, and its rejections."""

    def __init__(self, messages: int, received_at: datetime, sidebet_window: int) -> None:
        self.messages = messages
        self.rejected: list[tuple[int, str]] = []
        self.received_at = received_at
        self.window = sidebet_window
        self.events: dict[str, tuple[Any, ...]] = {}
        self.rounds = RoundTracker()
        self.trades: dict[str, tuple[Any, ...]] = {}
        self.sidebets: dict[tuple[str, str, int], list[Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.players: dict[str, list[Any]] = {}
        self.current_game: str | None = None  # the latest round seen active
        # each round's own lines: (index, raw event key, None for records without one)
        self.lines: dict[str, list[tuple[int, str | None]]] = {}
        self.skipped: dict[str, str] = {}
        self.skipped_lines: list[tuple[int, str]] = []
        # sidebet messages naming no round, seen before any active round of the batch
        self.unplaced: list[tuple[int, CurrentSidebet | CurrentSidebetResult, datetime, str]] = []

    def add(self, index: int, env: Envelope) -> str | None:
        """Take one envelope; a reason when it cannot be stored."""
        if env.is_trace:
            return None
        try:
            payload = orjson.dumps(env.data, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:
            return f"data: cannot be stored as JSON: {exc}"
        if b"\\u0000" in payload and _NUL_ESCAPE.search(payload):
            return "data: contains a NUL character, which PostgreSQL cannot store"
        own = b"" if env.time is None else b"%d" % int(env.time.timestamp() * 1_000_000)
        digest = hashlib.blake2b(
            b"\x1f".join((env.event.encode(), own, payload)), digest_size=16
        ).hexdigest()
        if "\x00" in env.source:
            return "source: contains a NUL character"
        time = env.time or self.received_at
        message = env.message
        named = env.game_id
        own = named
        if own is None and isinstance(message, CurrentSidebet | CurrentSidebetResult):
            own = self.current_game
        if own is not None:
            self._line_of(own, index, digest)
        if digest in self.events:
            return None
        self.events[digest] = (time, env.event, named, payload, env.source, digest)
        if isinstance(message, GameStateUpdate):
            self._game_state(message, time)
        elif isinstance(message, NewTrade):
            self._trade(message, time, digest)
        elif isinstance(message, CurrentSidebet | CurrentSidebetResult):
            if own is None:
                self.unplaced.append((index, message, time, digest))
            else:
                self._own_sidebet(message, own, time)
        return None

    def _line_of(self, game_id: str, index: int, digest: str | None) -> None:
        lines = self.lines.get(game_id)
        if lines is None:
            self.lines[game_id] = [(index, digest)]
        else:
            lines.append((index, digest))

    def add_history(self, index: int, raw: bytes | str | dict) -> str | None:
        """Take one `gameHistory` record; a reason when it cannot be stored."""
        try:
            value = orjson.loads(raw) if isinstance(raw, bytes | str) else raw
            entry = GameHistoryEntry.model_validate(value)
        except orjson.JSONDecodeError as exc:
            return f"not JSON: {exc}"
        except ValidationError as exc:
            return f"gameHistory record: {first_error(exc)}"
        if not entry.prices:
            return "prices: missing or empty (not a complete round)"
        time = parse_time(entry.timestamp) if entry.timestamp is not None else None
        self._line_of(entry.id, index, None)
        self.rounds.complete(entry, time or self.received_at)
        self._history_records(entry, time or self.received_at)
        return None

    def add_replayer(self, index: int, raw: bytes | str | dict) -> str | None:
        """Take one REPLAYER line; a reason when it cannot be used."""
        try:
            line = ReplayerLine.model_validate(
                orjson.loads(raw) if isinstance(raw, bytes | str) else raw
            )
        except orjson.JSONDecodeError as exc:
            return f"not JSON: {exc}"
        except ValidationError as exc:
            return f"{_replayer_type(raw)}: {first_error(exc)}"
        time = parse_time(line.timestamp)
        if time is None:
            return "timestamp: not a timestamp (ISO 8601 or epoch seconds/milliseconds)"
        if line.game_id is not None:
            self._line_of(line.game_id, index, None)
        if line.type != "tick":
            if line.game_id is not None and line.type in ("game_start", "game_end"):
                self.rounds.touch(line.game_id, time)
            return None
        if line.game_id is None or line.tick is None or line.price is None:
            return "tick: a tick line needs `game_id`, `tick` and `price`"
        self.rounds.observe_tick(
            line.game_id, line.tick, line.price, time, active=line.active, rugged=line.rugged
        )
        return None

    def _history_records(self, entry: GameHistoryEntry, time: datetime) -> None:
        """A complete round's trade and sidebet records; a malformed one is skipped."""
        for raw in entry.global_sidebets or ():
            try:
                bet = HistorySidebet.model_validate(raw)
            except ValidationError:
                continue
            when = (parse_time(bet.timestamp) if bet.timestamp is not None else None) or time
            self._player(bet.player_id, bet.username, None, when)
            if bet.type == "placed":
                if bet.started_at_tick is None:
                    continue
                start, end, outcome, payout = bet.started_at_tick, bet.end, "open", None
            else:
                if bet.start_tick is None or bet.payout is None:
                    continue
                start, end, payout = bet.start_tick, bet.end_tick, bet.payout
                outcome = "won" if payout > 0 else "lost"
            if end is None:
                end = start + self.window
            self._sidebet(
                (entry.id, bet.player_id, start),
                [end, bet.bet_amount, bet.x_payout, outcome, payout, when],
            )
        for raw in entry.global_trades or ():
            if not isinstance(raw, dict):
                continue
            try:
                trade = NewTrade.model_validate({"gameId": entry.id, **raw})
            except ValidationError:
                continue
            digest = hashlib.blake2b(
                orjson.dumps(raw, option=orjson.OPT_SORT_KEYS), digest_size=16
            ).hexdigest()
            stamp = raw.get("timestamp")
            self._trade(trade, (parse_time(stamp) if stamp is not None else None) or time, digest)

    def take_appends(self) -> AppendRows:
        """Hand over the rows of the append-only tables, in key order, keeping back the
        raw events of sidebet messages not placed in a round yet (`resolve_games`). What
        is taken depends on no other batch, so it can be written apart, in parallel."""
        held = {digest for _, _, _, digest in self.unplaced}
        events = [row for key, row in sorted(self.events.items()) if key not in held]
        self.events = {key: row for key, row in self.events.items() if key in held}
        ticks = [(g, t, *rest) for (g, t), rest in sorted(self.rounds.ticks.items())]
        trades = [self.trades[k] for k in sorted(self.trades)]
        self.rounds.ticks, self.trades = {}, {}
        return AppendRows(events, ticks, trades)

    def resolve_games(self, conn: psycopg.Connection) -> list[tuple[int, str]]:
        """Place sidebet messages that name no round in the latest round stored."""
        if not self.unplaced:
            return []
        row = conn.execute(
            "SELECT game_id FROM games ORDER BY started_at DESC NULLS LAST LIMIT 1"
        ).fetchone()
        rejected = []
        for index, message, time, digest in self.unplaced:
            if row is None:
                rejected.append((index, "no gameId, and no round known to attach it to"))
                del self.events[digest]
            else:
                self._line_of(row[0], index, digest)
                self._own_sidebet(message, row[0], time)
        self.unplaced = []
        return rejected

    def skip_rounds(self, conn: psycopg.Connection, mode: str) -> None:
        """Leave out the rounds stored under another mode than `mode`: their rows and facts,
        and the raw events of their lines, which are rejected. One query per batch."""
        ids = self.lines.keys() | self.rounds.games.keys() | self.rounds.history.keys()
        if not ids:
            return
        stored = dict(
            conn.execute(
                "SELECT game_id, mode FROM games WHERE game_id = ANY(%b::text[]) AND mode <> %s",
                (list(ids), mode),
            ).fetchall()
        )
        if stored:
            self._drop_rounds(stored, mode)

    def _drop_rounds(self, stored: dict[str, str], mode: str) -> None:
        """Forget everything about these rounds (id -> the mode they are stored under)."""
        self.skipped.update(stored)
        for game_id, other in sorted(stored.items()):
            reason = f"round {game_id} is stored as mode {other}, not {mode}: left alone"
            for index, digest in self.lines.pop(game_id, ()):
                self.rejected.append((index, reason))
                self.skipped_lines.append((index, game_id))
                if digest is not None:
                    self.events.pop(digest, None)
        # and what any line told about them (a round's own lines, other rounds' history)
        rounds = self.rounds
        for game_id in stored:
            rounds.games.pop(game_id, None)
            rounds.history.pop(game_id, None)
        rounds.ticks = {k: v for k, v in rounds.ticks.items() if k[0] not in stored}
        self.trades = {k: row for k, row in self.trades.items() if row[1] not in stored}
        self.sidebets = {k: v for k, v in self.sidebets.items() if k[0] not in stored}
        self.results = [r for r in self.results if r["game"] not in stored]

    def _game_state(self, update: GameStateUpdate, time: datetime) -> None:
        self.rounds.observe(update, time)
        for entry in update.game_history:
            if entry.prices:
                self._history_records(entry, time)
        if update.active and not update.rugged:
            self.current_game = update.game_id
        for entry in update.leaderboard:
            self._player(entry["id"], entry.get("username"), entry.get("level"), time)
            bet = entry.get("sideBet")
            if bet is not None and entry.get("sidebetActive") is not False:
                start = bet["startedAtTick"]
                end = bet.get("end")
                self._sidebet(
                    (update.game_id, entry["id"], start),
                    [
                        start + self.window if end is None else end,
                        bet.get("betAmount"),
                        bet.get("xPayout"),
                        "open",
                        None,
                        time,
                    ],
                )

    def _trade(self, trade: NewTrade, time: datetime, digest: str) -> None:
        self.rounds.touch(trade.game_id, time)
        trade_id = trade.id or f"h:{digest}"
        if trade_id not in self.trades:
            self.trades[trade_id] = (
                trade_id,
                trade.game_id,
                trade.tick_index,
                time,
                trade.player_id,
                trade.username,
                trade.type,
                trade.amount,
                trade.qty,
                trade.price,
                trade.leverage,
            )
        if trade.player_id:
            self._player(trade.player_id, trade.username, trade.level, time)

    def _own_sidebet(
        self, message: CurrentSidebet | CurrentSidebetResult, game_id: str, time: datetime
    ) -> None:
        self.rounds.touch(game_id, time)
        player = message.player_id or SELF
        if isinstance(message, CurrentSidebet):
            end = message.end_tick
            end = message.start_tick + self.window if end is None else end
            self._sidebet(
                (game_id, player, message.start_tick),
                [end, message.bet_amount, message.x_payout, "open", None, time],
            )
            return
        won = message.won if message.won is not None else message.payout > 0
        outcome = "won" if won else "lost"
        if message.start_tick is not None:
            self._sidebet(
                (game_id, player, message.start_tick),
                [None, None, None, outcome, message.payout, time],
            )
        else:
            self.results.append(
                {"game": game_id, "player": player, "outcome": outcome, "payout": message.payout}
            )

    def _sidebet(self, key: tuple[str, str, int], values: list[Any]) -> None:
        seen = self.sidebets.get(key)
        if seen is None:
            self.sidebets[key] = values
            return
        for i in (0, 1, 2, 4):  # end, amount, payout factor, payout: first known wins
            if seen[i] is None:
                seen[i] = values[i]
        if values[3] != "open":
            seen[3] = values[3]
        seen[5] = min(seen[5], values[5])

    def _player(self, player_id: str, username: str | None, level: int | None, t: datetime):
        seen = self.players.get(player_id)
        if seen is None:
            self.players[player_id] = [username, level, t, t]
            return
        if t >= seen[3]:
            seen[0] = username or seen[0]
            seen[1] = level if level is not None else seen[1]
            seen[3] = t
        elif t < seen[2]:
            seen[2] = t


def _replayer_type(raw: bytes | str | dict) -> str:
    """The line's `type` for a message naming what is wrong ("tick: price: ...")."""
    value = raw if isinstance(raw, dict) else orjson.loads(raw)
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) and kind.isidentifier() else "line"
