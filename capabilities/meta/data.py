"""Per-round statistics of every stored mode, in one query.

Pooling needs, per mode, only each round's rug tick and the count, sum and sum of
squares of its per-tick returns (`pooling.RoundStats`); PostgreSQL computes them over
the latest `limit` rounds of each mode, so no price path crosses the wire. The modes are
whatever `games.mode` holds, whether or not a rules file declares them.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import psycopg

from capabilities.engines.game_models.price import GOD_THRESHOLD
from capabilities.meta.pooling import RoundStats

_STATS_SQL = """
WITH recent AS (
    SELECT game_id, mode, rug_tick, entry, started_at FROM (
        SELECT game_id, mode, rug_tick, COALESCE(first_observed_tick, 0) AS entry, started_at,
               row_number() OVER (PARTITION BY mode
                                  ORDER BY started_at DESC NULLS LAST, game_id DESC) AS k
        FROM games WHERE rug_tick IS NOT NULL AND rug_tick >= 1
    ) ranked WHERE k <= %(limit)s
), moves AS (
    SELECT t.game_id,
           t.price / lag(t.price) OVER w - 1 AS ret,
           t.tick - lag(t.tick) OVER w AS gap,
           lag(t.price) OVER w AS before
    FROM recent r JOIN ticks t ON t.game_id = r.game_id
    WHERE t.tick >= 0 AND t.tick < r.rug_tick
    WINDOW w AS (PARTITION BY t.game_id ORDER BY t.tick)
), per_round AS (
    SELECT game_id, count(*) AS n, sum(ret) AS s, sum(ret * ret) AS s2,
           count(*) FILTER (WHERE ret >= %(god)s) AS g,
           sum(ret) FILTER (WHERE ret >= %(god)s) AS gs,
           sum(ret * ret) FILTER (WHERE ret >= %(god)s) AS gs2
    FROM moves WHERE gap = 1 AND before > 0 GROUP BY game_id
)
SELECT r.mode, r.rug_tick, r.entry, coalesce(p.n, 0), coalesce(p.s, 0), coalesce(p.s2, 0),
       coalesce(p.g, 0), coalesce(p.gs, 0), coalesce(p.gs2, 0)
FROM recent r LEFT JOIN per_round p ON p.game_id = r.game_id
ORDER BY r.mode, r.started_at ASC NULLS FIRST, r.game_id ASC
"""


def load_round_stats(conn: psycopg.Connection, limit: int) -> dict[str, RoundStats]:
    """Mode -> its latest `limit` rounds' statistics, oldest first."""
    rows: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    params = {"limit": limit, "god": GOD_THRESHOLD}
    for mode, *values in conn.execute(_STATS_SQL, params):
        rows[mode].append(tuple(float(v) for v in values))
    out = {}
    for mode, items in rows.items():
        a = np.array(items, dtype=np.float64)
        out[mode] = RoundStats(
            mode=mode,
            rug_tick=a[:, 0].astype(np.int64),
            entry=a[:, 1].astype(np.int64),
            moves=a[:, 2].astype(np.int64),
            move_sum=a[:, 3],
            move_sumsq=a[:, 4],
            gods=a[:, 5].astype(np.int64),
            god_sum=a[:, 6],
            god_sumsq=a[:, 7],
        )
    return out
