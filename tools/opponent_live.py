"""Per-player counters kept current as trades are stored (migrations 0080, 0081): the
cheap, incremental half of opponent profiles; the full figures come from a fit.

`add_trades` folds the trades a batch newly stored into `opponent_live` with one
statement per batch (rows sorted by player, so concurrent writers lock them in the same
order). Only rows the batch itself stored reach it, so a redelivered trade is never
counted twice. A round counts once per player: the pair goes into `opponent_live_rounds`
and only a pair that was not there yet adds to `rounds`, whatever the batching, order or
concurrent writers. Called by `tools.ingest_sql.write_appends`, so the consumer and the
importer both keep the counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

_UPSERT = """
WITH new_round AS (
    INSERT INTO opponent_live_rounds (player_id, game_id)
    SELECT * FROM unnest(%b::text[], %b::text[]) AS r(player_id, game_id)
    ORDER BY player_id, game_id
    ON CONFLICT DO NOTHING
    RETURNING player_id
), rounds AS (
    SELECT player_id, count(*) AS n FROM new_round GROUP BY player_id
), d AS (
    SELECT * FROM unnest(%b::text[], %b::int8[], %b::int8[], %b::int8[], %b::float8[],
                         %b::float8[], %b::text[], %b::timestamptz[])
        AS d(player_id, trades, buys, sells, bought, sold, last_game, at)
)
INSERT INTO opponent_live AS l (player_id, trades, buys, sells, bought, sold, rounds,
                                last_game_id, last_trade_at)
SELECT d.player_id, trades, buys, sells, bought, sold, coalesce(rounds.n, 0), last_game, at
FROM d LEFT JOIN rounds USING (player_id)
ORDER BY d.player_id
ON CONFLICT (player_id) DO UPDATE SET
    trades = l.trades + excluded.trades,
    buys = l.buys + excluded.buys,
    sells = l.sells + excluded.sells,
    bought = l.bought + excluded.bought,
    sold = l.sold + excluded.sold,
    rounds = l.rounds + excluded.rounds,
    last_game_id = excluded.last_game_id,
    last_trade_at = GREATEST(l.last_trade_at, excluded.last_trade_at),
    updated_at = now()
"""


def add_trades(conn: psycopg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Fold trade rows (`trades` table column order) into the counters; no commit."""
    per: dict[str, list[Any]] = {}
    pairs: set[tuple[str, str]] = set()
    for _, game_id, _, time, player_id, _, kind, amount, *_ in sorted(rows, key=lambda r: r[3]):
        if not player_id:
            continue
        c = per.get(player_id)
        if c is None:  # trades, buys, sells, bought, sold, last game, last time
            c = per[player_id] = [0, 0, 0, 0.0, 0.0, game_id, time]
        c[0] += 1
        if kind == "buy":
            c[1] += 1
            c[3] += amount or 0.0
        elif kind == "sell":
            c[2] += 1
            c[4] += amount or 0.0
        c[5] = game_id
        c[6] = max(c[6], time)
        pairs.add((player_id, game_id))
    if not per:
        return
    players = sorted(per)
    ordered = sorted(pairs)
    conn.execute(
        _UPSERT,
        [
            [p for p, _ in ordered],
            [g for _, g in ordered],
            players,
            *([per[p][i] for p in players] for i in range(7)),
        ],
    )
