"""The statements `tools.ingest` writes with: binary COPY for the append-only tables,
upserts over arrays for the facts.

Kept apart from the parsing so each module stays about one thing. Every statement is
static SQL with parameters; COPY rows and arrays travel in PostgreSQL's binary format
(`%b`), which spares both sides quoting and parsing text.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import set_json_dumps

from tools.opponent_live import add_trades

if TYPE_CHECKING:
    from tools.ingest import PreparedBatch, RowCounts

_LOCK_KEY = 0x5EC7A_0003  # serializes writers where a key check precedes the insert

_timescale_cache: weakref.WeakKeyDictionary[psycopg.Connection, bool] = weakref.WeakKeyDictionary()


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


@dataclass
class AppendRows:
    """A batch's rows for the append-only tables (events, ticks, trades), in key order;
    picklable, so another process can write them (see tools.importer)."""

    events: list[tuple[Any, ...]]
    ticks: list[tuple[Any, ...]]
    trades: list[tuple[Any, ...]]


def write_appends(conn: psycopg.Connection, rows: AppendRows, result: RowCounts) -> None:
    """Store the rows not stored yet, counting them into `result`; no commit."""
    timescale = _uses_timescale(conn)
    if timescale:  # key checks must see rows committed by concurrent writers
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
    result.events = _append(conn, _EVENTS, rows.events, timescale)[0]
    result.ticks = _append(conn, _TICKS, rows.ticks, timescale)[0]
    result.trades, added = _append(conn, _TRADES, rows.trades, timescale)
    add_trades(conn, added)  # opponent profiles' live counters


def write_facts(
    conn: psycopg.Connection,
    batch: PreparedBatch,
    mode: str,
    result: RowCounts,
    source_format: str | None = None,
) -> None:
    """Merge what the batch tells about players, rounds and sidebets; no commit. Rows go
    in key order, so concurrent writers lock shared keys in the same order (no deadlock).
    Facts merge commutatively, except placing what names no round or start tick, which
    takes the latest stored: batches of one stream go through here in order."""
    rounds = batch.rounds
    if batch.players:
        players = [(k, *v) for k, v in sorted(batch.players.items())]
        result.players = _count(conn, _UPSERT_PLAYERS, _columns(players, 5))
    games = [rounds.games[k] for k in sorted(rounds.games)]
    if games:
        result.games = _count(
            conn,
            _UPSERT_GAMES,
            [
                mode,
                source_format,
                [f.game_id for f in games],
                [f.started_at for f in games],
                [f.ended_at for f in games],
                [f.rug_tick for f in games],
                [f.peak for f in games],
                [f.final_price for f in games],
                [f.server_seed for f in games],
                [f.server_seed_hash for f in games],
                [None if f.max_tick is None else f.max_tick + 1 for f in games],
                [f.game_version for f in games],
                [f.first_tick for f in games],
            ],
        )
    if rounds.history:
        past = [rounds.history[k] for k in sorted(rounds.history)]
        conn.execute(
            _APPLY_HISTORY,
            [
                [h.game_id for h in past],
                [h.peak for h in past],
                [h.server_seed for h in past],
                [h.server_seed_hash for h in past],
                mode,
            ],
        )
    if batch.sidebets:
        sidebets = [(*k, *v) for k, v in sorted(batch.sidebets.items())]
        result.sidebets = _count(conn, _UPSERT_SIDEBETS, _columns(sidebets, 9))
    if batch.results:
        with conn.cursor() as cur:
            cur.executemany(_APPLY_RESULT, batch.results)
    if games:
        conn.execute(
            _RESOLVE_SIDEBETS, {"window": batch.window, "games": [f.game_id for f in games]}
        )


@dataclass(frozen=True)
class _Table:
    """How rows of one append-only table are written: the columns forming their natural
    key, a query for the keys already stored, binary COPY, and the INSERT fallback."""

    key: tuple[int, ...]
    stored: str
    copy: str
    types: tuple[str, ...]
    insert: str


def _append(
    conn: psycopg.Connection, table: _Table, rows: list[tuple[Any, ...]], check_first: bool
) -> tuple[int, list[tuple[Any, ...]]]:
    """Store the rows not stored yet; returns how many were added, and the rows (on the
    INSERT fallback, those it tried: one a concurrent writer stored meanwhile is in).

    Binary COPY is the server's cheapest load and costs us no per-value Python work, but
    it stops at the first duplicate key. So rows are COPYed optimistically (the common
    case: new data), in a savepoint; on a duplicate the savepoint is rolled back, the keys
    already stored are looked up and dropped (sparing a re-import the JSON parsing of
    every payload), and the rest go through INSERT ... ON CONFLICT DO NOTHING (a
    concurrent writer may still store one meanwhile). `check_first` looks keys up before
    COPY instead: on TimescaleDB, whose unique indexes include time, only that makes keys
    unique (the caller holds the writers' lock)."""
    if rows and check_first:
        rows = _unstored(conn, table, rows)
    if not rows:
        return 0, []
    # an explicit savepoint: psycopg's transaction() would commit when none is open yet
    conn.execute("SAVEPOINT ingest_append")
    try:
        with conn.cursor() as cur:
            set_json_dumps(_serialized, cur)
            with cur.copy(table.copy) as copy:
                copy.set_types(list(table.types))
                for row in rows:
                    copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        conn.execute("ROLLBACK TO SAVEPOINT ingest_append")
        rows = _unstored(conn, table, rows)
        if not rows:
            return 0, []
        return conn.execute(table.insert, _columns(rows, len(table.types))).rowcount, rows
    conn.execute("RELEASE SAVEPOINT ingest_append")
    return len(rows), rows


def _serialized(payload: bytes) -> bytes:
    """Payloads are UTF-8 JSON already (canonical, see tools.ingest): sent as they are."""
    return payload


def _unstored(
    conn: psycopg.Connection, table: _Table, rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The rows whose natural key is not stored yet."""
    key = table.key
    stored = set(conn.execute(table.stored, [[row[i] for row in rows] for i in key]).fetchall())
    if not stored:
        return rows
    return [row for row in rows if tuple(row[i] for i in key) not in stored]


# The INSERTs (the fallback of COPY) unnest in the select list: set-returning functions
# there stream their rows, where `FROM unnest(...)` would first copy the batch, payloads
# included, into a tuplestore.
_EVENTS = _Table(
    (5,),
    "SELECT event_key FROM websocket_events WHERE event_key = ANY(%b::text[])",
    "COPY websocket_events (time, event_type, game_id, payload, source, event_key)"
    " FROM STDIN (FORMAT BINARY)",
    ("timestamptz", "text", "text", "jsonb", "text", "text"),
    """
INSERT INTO websocket_events (time, event_type, game_id, payload, source, event_key)
SELECT unnest(%b::timestamptz[]), unnest(%b::text[]), unnest(%b::text[]),
       convert_from(unnest(%b::bytea[]), 'UTF8')::jsonb, unnest(%b::text[]),
       unnest(%b::text[])
ON CONFLICT DO NOTHING
""",
)

_TICKS = _Table(
    (0, 1),
    """
    SELECT x.game_id, x.tick FROM unnest(%b::text[], %b::int[]) AS k(game_id, tick)
    JOIN ticks x ON x.game_id = k.game_id AND x.tick = k.tick
    """,
    "COPY ticks (game_id, tick, time, price) FROM STDIN (FORMAT BINARY)",
    ("text", "int4", "timestamptz", "float8"),
    """
INSERT INTO ticks (game_id, tick, time, price)
SELECT unnest(%b::text[]), unnest(%b::int[]), unnest(%b::timestamptz[]),
       unnest(%b::float8[])
ON CONFLICT DO NOTHING
""",
)

_TRADES = _Table(
    (0,),
    "SELECT trade_id FROM trades WHERE trade_id = ANY(%b::text[])",
    "COPY trades (trade_id, game_id, tick, time, player_id, username, type, amount, qty,"
    " price, leverage) FROM STDIN (FORMAT BINARY)",
    (
        "text",
        "text",
        "int4",
        "timestamptz",
        "text",
        "text",
        "text",
        "float8",
        "float8",
        "float8",
        "int4",
    ),
    """
INSERT INTO trades (trade_id, game_id, tick, time, player_id, username, type, amount, qty,
                    price, leverage)
SELECT unnest(%b::text[]), unnest(%b::text[]), unnest(%b::int[]),
       unnest(%b::timestamptz[]), unnest(%b::text[]), unnest(%b::text[]),
       unnest(%b::text[]), unnest(%b::float8[]), unnest(%b::float8[]),
       unnest(%b::float8[]), unnest(%b::int[])
ON CONFLICT DO NOTHING
""",
)

_UPSERT_PLAYERS = """
WITH upserted AS (
    INSERT INTO players (player_id, username, level, first_seen, last_seen)
    SELECT * FROM unnest(%b::text[], %b::text[], %b::int[], %b::timestamptz[],
                         %b::timestamptz[])
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
# final price belongs to the rug evidence with the smallest tick; the first observed tick
# is the smallest seen by any recording (a round seen whole somewhere is not truncated).
_UPSERT_GAMES = """
WITH upserted AS (
    INSERT INTO games (game_id, mode, source_format, started_at, ended_at, rug_tick,
                       peak_multiplier, final_price, server_seed, server_seed_hash,
                       tick_count, game_version, first_observed_tick)
    SELECT s.game_id, %s, %s, s.started_at, s.ended_at, s.rug_tick, s.peak, s.final_price,
           s.seed, s.seed_hash, s.tick_count, s.version, s.first_tick
    FROM unnest(%b::text[], %b::timestamptz[], %b::timestamptz[], %b::int[],
                %b::float8[], %b::float8[], %b::text[], %b::text[], %b::int[], %b::text[],
                %b::int[])
         AS s(game_id, started_at, ended_at, rug_tick, peak, final_price, seed,
              seed_hash, tick_count, version, first_tick)
    ON CONFLICT (game_id) DO UPDATE SET
        source_format = COALESCE(games.source_format, excluded.source_format),
        game_version = COALESCE(games.game_version, excluded.game_version),
        -- NULL on a round with ticks or a rug: stored before 0050 filled it, from its start
        first_observed_tick = CASE
            WHEN games.first_observed_tick IS NULL
                 AND (games.tick_count IS NOT NULL OR games.rug_tick IS NOT NULL)
            THEN NULL
            ELSE LEAST(games.first_observed_tick, excluded.first_observed_tick) END,
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
    -- a round of another mode is left out before (tools.ingest); this covers a concurrent
    -- writer storing it meanwhile
    WHERE games.mode = excluded.mode
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
FROM unnest(%b::text[], %b::float8[], %b::text[], %b::text[]) AS h(game_id, peak, seed,
                                                                  seed_hash)
WHERE g.game_id = h.game_id AND g.mode = %s
  AND (g.peak_multiplier IS DISTINCT FROM GREATEST(g.peak_multiplier, h.peak)
       OR (g.server_seed IS NULL AND h.seed IS NOT NULL)
       OR (g.server_seed_hash IS NULL AND h.seed_hash IS NOT NULL))
"""

_UPSERT_SIDEBETS = """
WITH upserted AS (
    INSERT INTO sidebets (game_id, player_id, start_tick, end_tick, amount, payout_factor,
                          outcome, payout, time)
    SELECT * FROM unnest(%b::text[], %b::text[], %b::int[], %b::int[], %b::float8[],
                         %b::float8[], %b::text[], %b::float8[], %b::timestamptz[])
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
