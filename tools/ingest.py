"""Write protocol messages into the event and game tables, idempotently, in batches.

`ingest_batch` parses a batch, derives what it implies (raw events, rounds, ticks, trades,
sidebets, players) and writes each table with one set-based statement over arrays
(`unnest`), inside the caller's transaction: it never commits, so a consumer can ack
only after its commit and an importer can commit per batch.

Idempotence and order: every table has a natural key (see docs/data.md); rows already
stored are left alone (`ON CONFLICT DO NOTHING`, plus a check of the key without its time
column on TimescaleDB, whose unique indexes must include time), and facts that refine
with more evidence merge commutatively (`LEAST` rug tick and end time, `GREATEST` peak,
`COALESCE` seeds). Redelivering a batch, or delivering its messages in another order or
split differently, yields the same rows, except that a tick seen twice keeps the time of
the message stored first.
"""

from __future__ import annotations

import hashlib
import json
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from tools.errors import InvalidInput
from tools.protocol import (
    CurrentSidebet,
    CurrentSidebetResult,
    Envelope,
    GameStateUpdate,
    NewTrade,
    Rejected,
    parse_envelope,
)
from tools.rounds import RoundTracker

_MODE = re.compile(r"^[a-z0-9_]{1,32}$")
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_LOCK_KEY = 0x5EC7A_0003  # serializes writers where a key check precedes the insert
SELF = "self"  # player id of the authenticated account when its messages do not name it

_timescale_cache: weakref.WeakKeyDictionary[psycopg.Connection, bool] = weakref.WeakKeyDictionary()


@dataclass
class BatchResult:
    """What a batch added (new rows per table) and which messages it rejected, why."""

    messages: int = 0
    events: int = 0
    games: int = 0
    ticks: int = 0
    trades: int = 0
    sidebets: int = 0
    players: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

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
    `received_at` (default: now). `mode` tags rounds first seen in this batch.
    `sidebet_window` gives a sidebet's last covered tick when the server omits it."""
    if not _MODE.match(mode):
        raise InvalidInput(f"mode {mode!r}: expected lowercase letters, digits, underscores")
    batch = _Batch(received_at or datetime.now(UTC), sidebet_window)
    result = BatchResult(messages=len(messages))
    for index, raw in enumerate(messages):
        envelope = parse_envelope(raw, source=source)
        if isinstance(envelope, Rejected):
            reason: str | None = envelope.reason
        else:
            reason = batch.add(index, envelope)
        if reason is not None:
            result.rejected.append((index, reason))
    for index, reason in batch.resolve_games(conn):
        result.rejected.append((index, reason))
    result.rejected.sort()
    if batch.events:
        _write(conn, batch, mode, result)
    return result


class _Batch:
    """Rows of one batch, deduplicated on their natural keys."""

    def __init__(self, received_at: datetime, sidebet_window: int) -> None:
        self.received_at = received_at
        self.window = sidebet_window
        self.events: dict[str, tuple[Any, ...]] = {}
        self.rounds = RoundTracker()
        self.trades: dict[str, tuple[Any, ...]] = {}
        self.sidebets: dict[tuple[str, str, int], list[Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.players: dict[str, list[Any]] = {}
        self.current_game: str | None = None  # the latest round seen active
        # sidebet messages naming no round, seen before any active round of the batch
        self.unplaced: list[tuple[int, CurrentSidebet | CurrentSidebetResult, datetime, str]] = []

    def add(self, index: int, env: Envelope) -> str | None:
        """Take one envelope; a reason when it cannot be stored."""
        if env.is_trace:
            return None
        payload = json.dumps(env.data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if "\\u0000" in payload and _NUL_ESCAPE.search(payload):
            return "data: contains a NUL character, which PostgreSQL cannot store"
        own = "" if env.time is None else str(int(env.time.timestamp() * 1_000_000))
        try:
            digest = hashlib.blake2b(
                f"{env.event}\x1f{own}\x1f{payload}".encode(), digest_size=16
            ).hexdigest()
        except UnicodeEncodeError:
            return "data: invalid Unicode (an unpaired surrogate)"
        if "\x00" in env.source:
            return "source: contains a NUL character"
        time = env.time or self.received_at
        if digest in self.events:
            return None
        self.events[digest] = (time, env.event, env.game_id, payload, env.source, digest)
        message = env.message
        if isinstance(message, GameStateUpdate):
            self._game_state(message, time)
        elif isinstance(message, NewTrade):
            self._trade(message, time, digest)
        elif isinstance(message, CurrentSidebet | CurrentSidebetResult):
            game_id = message.game_id or self.current_game
            if game_id is None:
                self.unplaced.append((index, message, time, digest))
            else:
                self._own_sidebet(message, game_id, time)
        return None

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
                self._own_sidebet(message, row[0], time)
        return rejected

    def _game_state(self, update: GameStateUpdate, time: datetime) -> None:
        self.rounds.observe(update, time)
        if update.active and not update.rugged:
            self.current_game = update.game_id
        for entry in update.leaderboard:
            self._player(entry.id, entry.username, entry.level, time)
            bet = entry.side_bet
            if bet is not None and entry.sidebet_active is not False:
                end = bet.end if bet.end is not None else bet.started_at_tick + self.window
                self._sidebet(
                    (update.game_id, entry.id, bet.started_at_tick),
                    [end, bet.bet_amount, bet.x_payout, "open", None, time],
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


def _uses_timescale(conn: psycopg.Connection) -> bool:
    known = _timescale_cache.get(conn)
    if known is None:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
        ).fetchone()
        known = _timescale_cache[conn] = bool(row and row[0])
    return known


def _columns(rows: Any, n: int) -> list[list[Any]]:
    columns = [list(c) for c in zip(*rows, strict=True)]
    return columns or [[] for _ in range(n)]


def _count(conn: psycopg.Connection, sql: str, params: Sequence[Any]) -> int:
    row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _write(conn: psycopg.Connection, batch: _Batch, mode: str, result: BatchResult) -> None:
    if _uses_timescale(conn):  # key checks must see rows committed by concurrent writers
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))

    result.events = conn.execute(_INSERT_EVENTS, _columns(batch.events.values(), 6)).rowcount
    rounds = batch.rounds
    if rounds.ticks:
        game_ids, ticks = zip(*rounds.ticks.keys(), strict=True)
        times, prices = zip(*rounds.ticks.values(), strict=True)
        cur = conn.execute(
            _INSERT_TICKS,
            [list(game_ids), list(ticks), list(times), list(prices)],
        )
        result.ticks = cur.rowcount
    if batch.trades:
        cur = conn.execute(
            _INSERT_TRADES,
            _columns(batch.trades.values(), 11),
        )
        result.trades = cur.rowcount
    if batch.players:
        ids = list(batch.players)
        usernames, levels, firsts, lasts = _columns(batch.players.values(), 4)
        result.players = _count(conn, _UPSERT_PLAYERS, [ids, usernames, levels, firsts, lasts])
    if rounds.games:
        facts = list(rounds.games.values())
        result.games = _count(
            conn,
            _UPSERT_GAMES,
            [
                mode,
                [f.game_id for f in facts],
                [f.started_at for f in facts],
                [f.ended_at for f in facts],
                [f.rug_tick for f in facts],
                [f.peak for f in facts],
                [f.final_price for f in facts],
                [f.server_seed for f in facts],
                [f.server_seed_hash for f in facts],
                [None if f.max_tick is None else f.max_tick + 1 for f in facts],
            ],
        )
    if rounds.history:
        past = list(rounds.history.values())
        conn.execute(
            _APPLY_HISTORY,
            [
                [h.game_id for h in past],
                [h.peak for h in past],
                [h.server_seed for h in past],
                [h.server_seed_hash for h in past],
            ],
        )
    if batch.sidebets:
        keys = list(batch.sidebets)
        g, p, st = _columns(keys, 3)
        end, amount, factor, outcome, payout, time = _columns(batch.sidebets.values(), 6)
        result.sidebets = _count(
            conn, _UPSERT_SIDEBETS, [g, p, st, end, amount, factor, outcome, payout, time]
        )
    if batch.results:
        with conn.cursor() as c:
            c.executemany(_APPLY_RESULT, batch.results)
    if rounds.games:
        conn.execute(_RESOLVE_SIDEBETS, {"window": batch.window, "games": list(rounds.games)})


# The NOT EXISTS checks are redundant without TimescaleDB (the natural key alone is
# unique there) and cost one index probe; with it they are what makes the key unique.
_INSERT_EVENTS = """
INSERT INTO websocket_events (time, event_type, game_id, payload, source, event_key)
SELECT s.time, s.event_type, s.game_id, s.payload::jsonb, s.source, s.event_key
FROM unnest(%s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
     AS s(time, event_type, game_id, payload, source, event_key)
WHERE NOT EXISTS (SELECT 1 FROM websocket_events x WHERE x.event_key = s.event_key)
ON CONFLICT DO NOTHING
"""

_INSERT_TICKS = """
INSERT INTO ticks (game_id, tick, time, price)
SELECT * FROM unnest(%s::text[], %s::int[], %s::timestamptz[], %s::float8[])
     AS s(game_id, tick, time, price)
WHERE NOT EXISTS (SELECT 1 FROM ticks x WHERE x.game_id = s.game_id AND x.tick = s.tick)
ON CONFLICT DO NOTHING
"""

_INSERT_TRADES = """
INSERT INTO trades (trade_id, game_id, tick, time, player_id, username, type, amount, qty,
                    price, leverage)
SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::timestamptz[], %s::text[],
                     %s::text[], %s::text[], %s::float8[], %s::float8[], %s::float8[],
                     %s::int[])
     AS s(trade_id, game_id, tick, time, player_id, username, type, amount, qty, price,
          leverage)
WHERE NOT EXISTS (SELECT 1 FROM trades x WHERE x.trade_id = s.trade_id)
ON CONFLICT DO NOTHING
"""

_UPSERT_PLAYERS = """
WITH upserted AS (
    INSERT INTO players (player_id, username, level, first_seen, last_seen)
    SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::timestamptz[],
                         %s::timestamptz[])
    ON CONFLICT (player_id) DO UPDATE SET
        username = CASE WHEN excluded.last_seen >= players.last_seen
                        THEN COALESCE(excluded.username, players.username)
                        ELSE COALESCE(players.username, excluded.username) END,
        level = CASE WHEN excluded.last_seen >= players.last_seen
                     THEN COALESCE(excluded.level, players.level)
                     ELSE COALESCE(players.level, excluded.level) END,
        first_seen = LEAST(players.first_seen, excluded.first_seen),
        last_seen = GREATEST(players.last_seen, excluded.last_seen)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM upserted
"""

# LEAST/GREATEST skip NULLs: each fact merges commutatively with what is stored. The
# final price belongs to the rug evidence with the smallest tick.
_UPSERT_GAMES = """
WITH upserted AS (
    INSERT INTO games (game_id, mode, started_at, ended_at, rug_tick, peak_multiplier,
                       final_price, server_seed, server_seed_hash, tick_count)
    SELECT s.game_id, %s, s.started_at, s.ended_at, s.rug_tick, s.peak, s.final_price,
           s.seed, s.seed_hash, s.tick_count
    FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[],
                %s::float8[], %s::float8[], %s::text[], %s::text[], %s::int[])
         AS s(game_id, started_at, ended_at, rug_tick, peak, final_price, seed,
              seed_hash, tick_count)
    ON CONFLICT (game_id) DO UPDATE SET
        started_at = LEAST(games.started_at, excluded.started_at),
        ended_at = LEAST(games.ended_at, excluded.ended_at),
        rug_tick = LEAST(games.rug_tick, excluded.rug_tick),
        final_price = CASE
            WHEN games.rug_tick IS NULL OR excluded.rug_tick < games.rug_tick
            THEN COALESCE(excluded.final_price, games.final_price)
            ELSE COALESCE(games.final_price, excluded.final_price) END,
        peak_multiplier = GREATEST(games.peak_multiplier, excluded.peak_multiplier),
        server_seed = COALESCE(games.server_seed, excluded.server_seed),
        server_seed_hash = COALESCE(games.server_seed_hash, excluded.server_seed_hash),
        tick_count = GREATEST(games.tick_count, excluded.tick_count),
        updated_at = now()
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM upserted
"""

# gameHistory lists the last rounds at every transition: it completes rounds we store
# (peak, revealed seed) but does not create rounds the stream never showed.
_APPLY_HISTORY = """
UPDATE games g SET
    peak_multiplier = GREATEST(g.peak_multiplier, h.peak),
    server_seed = COALESCE(g.server_seed, h.seed),
    server_seed_hash = COALESCE(g.server_seed_hash, h.seed_hash),
    updated_at = now()
FROM unnest(%s::text[], %s::float8[], %s::text[], %s::text[]) AS h(game_id, peak, seed,
                                                                  seed_hash)
WHERE g.game_id = h.game_id
  AND (g.peak_multiplier IS DISTINCT FROM GREATEST(g.peak_multiplier, h.peak)
       OR (g.server_seed IS NULL AND h.seed IS NOT NULL)
       OR (g.server_seed_hash IS NULL AND h.seed_hash IS NOT NULL))
"""

_UPSERT_SIDEBETS = """
WITH upserted AS (
    INSERT INTO sidebets (game_id, player_id, start_tick, end_tick, amount, payout_factor,
                          outcome, payout, time)
    SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::int[], %s::float8[],
                         %s::float8[], %s::text[], %s::float8[], %s::timestamptz[])
    ON CONFLICT (game_id, player_id, start_tick) DO UPDATE SET
        end_tick = COALESCE(sidebets.end_tick, excluded.end_tick),
        amount = COALESCE(sidebets.amount, excluded.amount),
        payout_factor = COALESCE(sidebets.payout_factor, excluded.payout_factor),
        outcome = CASE WHEN excluded.payout IS NOT NULL THEN excluded.outcome
                       ELSE sidebets.outcome END,
        payout = COALESCE(excluded.payout, sidebets.payout),
        time = LEAST(sidebets.time, excluded.time)
    WHERE (sidebets.end_tick IS NULL AND excluded.end_tick IS NOT NULL)
       OR (sidebets.amount IS NULL AND excluded.amount IS NOT NULL)
       OR (sidebets.payout_factor IS NULL AND excluded.payout_factor IS NOT NULL)
       OR (excluded.payout IS NOT NULL AND (sidebets.payout IS DISTINCT FROM excluded.payout
                                            OR sidebets.outcome <> excluded.outcome))
       OR excluded.time < sidebets.time
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) FROM upserted
"""

# A settlement naming no start tick settles the player's latest sidebet of the round.
_APPLY_RESULT = """
UPDATE sidebets SET outcome = %(outcome)s, payout = %(payout)s
WHERE (game_id, player_id, start_tick) = (
    SELECT game_id, player_id, start_tick FROM sidebets
    WHERE game_id = %(game)s AND player_id = %(player)s
    ORDER BY start_tick DESC LIMIT 1)
"""

# An explicit settlement (payout known) is final; otherwise the outcome follows the rug:
# won when the round rugged within [start_tick, end_tick].
_RESOLVE_SIDEBETS = """
UPDATE sidebets s SET outcome = d.outcome
FROM (
    SELECT b.game_id, b.player_id, b.start_tick, CASE
        WHEN g.rug_tick BETWEEN b.start_tick AND COALESCE(b.end_tick, b.start_tick + %(window)s)
        THEN 'won' ELSE 'lost' END AS outcome
    FROM sidebets b JOIN games g ON g.game_id = b.game_id
    WHERE g.rug_tick IS NOT NULL AND b.payout IS NULL AND b.game_id = ANY(%(games)s::text[])
) d
WHERE s.game_id = d.game_id AND s.player_id = d.player_id AND s.start_tick = d.start_tick
  AND s.outcome <> d.outcome
"""
