"""Per-player counters kept current as trades are stored (migration 0080): the cheap,
incremental half of opponent profiles; the full figures come from a fit.

`add_trades` folds the trades a batch newly stored into `opponent_live` with one upsert
(rows sorted by player, so concurrent writers lock them in the same order). A round
counts once per player: a batch continuing the player's latest round does not count it
again. Called by `tools.ingest_sql.write_appends`, so the consumer and the importer both
keep the counters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

_UPSERT = """
WITH d AS (
    SELECT * FROM unnest(%b::text[], %b::int8[], %b::int8[], %b::int8[], %b::float8[],
                         %b::float8[], %b::int8[], %b::text[], %b::text[], %b::timestamptz[])
        AS d(player_id, trades, buys, sells, bought, sold, rounds, first_game, last_game, at)
)
INSERT INTO opponent_live AS l (player_id, trades, buys, sells, bought, sold, rounds,
                                last_game_id, last_trade_at)
SELECT player_id, trades, buys, sells, bought, sold, rounds, last_game, at FROM d
ORDER BY player_id
ON CONFLICT (player_id) DO UPDATE SET
    trades = l.trades + excluded.trades,
    buys = l.buys + excluded.buys,
    sells = l.sells + excluded.sells,
    bought = l.bought + excluded.bought,
    sold = l.sold + excluded.sold,
    rounds = l.rounds + excluded.rounds - CASE WHEN l.last_game_id = (
        SELECT first_game FROM d WHERE d.player_id = excluded.player_id) THEN 1 ELSE 0 END,
    last_game_id = excluded.last_game_id,
    last_trade_at = GREATEST(l.last_trade_at, excluded.last_trade_at),
    updated_at = now()
"""


def add_trades(conn: psycopg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Fold trade rows (`trades` table column order) into the counters; no commit."""
    per: dict[str, list[Any]] = {}
    for _, game_id, _, time, player_id, _, kind, amount, *_ in sorted(rows, key=lambda r: r[3]):
        if not player_id:
            continue
        c = per.get(player_id)
        if c is None:  # trades, buys, sells, bought, sold, games, first game, time
            c = per[player_id] = [0, 0, 0, 0.0, 0.0, [], game_id, time]
        c[0] += 1
        if kind == "buy":
            c[1] += 1
            c[3] += amount or 0.0
        elif kind == "sell":
            c[2] += 1
            c[4] += amount or 0.0
        if not c[5] or c[5][-1] != game_id:
            c[5].append(game_id)
        c[7] = max(c[7], time)
    if not per:
        return
    players = sorted(per)
    cols = [[per[p][i] for p in players] for i in range(5)]
    conn.execute(
        _UPSERT,
        [
            players,
            *cols,
            [len(set(per[p][5])) for p in players],
            [per[p][6] for p in players],
            [per[p][5][-1] for p in players],
            [per[p][7] for p in players],
        ],
    )
