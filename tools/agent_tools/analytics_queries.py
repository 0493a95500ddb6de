"""Named analytics queries over the game tables: fixed SQL, bound parameters, plain dicts.

Each function takes an open connection and validated arguments and returns the figures
an agent (or a capability) quotes. Optional filters are bound as NULL and tested in SQL
(`%(mode)s::text IS NULL OR mode = %(mode)s`), so no query text is ever assembled from
input. Kept apart from the smolagents wrappers so capabilities can call them directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

Z95 = 1.959963984540054  # two-sided 95 % normal quantile
INSTARUG_TICKS = 5  # GAME.md: a round that rugs within 5 ticks
MAX_HISTOGRAM_BINS = 100

# Completed rounds in a window: newest first, optionally one mode, a time span, the last N.
_WINDOW = sql.SQL("""
    WITH w AS (
        SELECT game_id, rug_tick, peak_multiplier, ended_at FROM games
        WHERE rug_tick IS NOT NULL
          AND (%(mode)s::text IS NULL OR mode = %(mode)s)
          AND (%(since_hours)s::float8 IS NULL
               OR ended_at >= now() - make_interval(secs => %(since_hours)s::float8 * 3600))
        ORDER BY ended_at DESC NULLS LAST, game_id DESC
        LIMIT %(last_n)s
    )
""")


def _window(mode: str | None, last_n: int | None, since_hours: float | None) -> dict[str, Any]:
    return {"mode": mode, "last_n": last_n, "since_hours": since_hours}


def modes_present(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT mode FROM games ORDER BY 1").fetchall()]


def round_statistics(
    conn: psycopg.Connection, *, mode: str | None, last_n: int | None, since_hours: float | None
) -> dict[str, Any]:
    """Count, rug-tick and peak summaries, instarug and 2x rates of completed rounds."""
    params = _window(mode, last_n, since_hours)
    row = conn.execute(
        _WINDOW
        + sql.SQL("""
        SELECT count(*) AS games, avg(rug_tick)::float8 AS mean,
               percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY rug_tick) AS q,
               min(rug_tick) AS min, max(rug_tick) AS max,
               avg(peak_multiplier) AS peak_mean,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY peak_multiplier) AS pq,
               max(peak_multiplier) AS peak_max,
               avg((rug_tick <= %(instarug)s)::int)::float8 AS instarug_rate,
               avg((peak_multiplier >= 2)::int)::float8 AS reached_2x_rate,
               min(ended_at) AS first_ended, max(ended_at) AS last_ended
        FROM w
        """),
        {**params, "instarug": INSTARUG_TICKS},
    ).fetchone()
    games, mean, q, lo, hi, peak_mean, pq, peak_max, instarug, two_x, first, last = row
    result: dict[str, Any] = {"window": params, "games": games}
    if games:
        result |= {
            "rug_tick": {"mean": mean, "p10": q[0], "median": q[1], "p90": q[2], "min": lo,
                         "max": hi},
            "peak_multiplier": {"mean": peak_mean, "median": pq[0], "p90": pq[1],
                                "max": peak_max},
            "instarug_rate": instarug,
            "reached_2x_rate": two_x,
            "first_ended_at": first,
            "last_ended_at": last,
        }  # fmt: skip
    return result


def rug_tick_distribution(
    conn: psycopg.Connection,
    *,
    mode: str | None,
    last_n: int | None,
    since_hours: float | None,
    bin_width: int,
    checkpoints: Sequence[int],
) -> dict[str, Any]:
    """Histogram of rug ticks, empirical survival, and the constant-hazard fit to compare."""
    params = {**_window(mode, last_n, since_hours), "bin": bin_width,
              "last_bin": MAX_HISTOGRAM_BINS - 1, "ticks": list(checkpoints)}  # fmt: skip
    n, total = conn.execute(
        _WINDOW + sql.SQL("SELECT count(*), coalesce(sum(rug_tick), 0) FROM w"), params
    ).fetchone()
    result: dict[str, Any] = {"window": _window(mode, last_n, since_hours), "games": n}
    if not n:
        return result
    bins = conn.execute(
        _WINDOW
        + sql.SQL(
            "SELECT least(rug_tick / %(bin)s, %(last_bin)s) * %(bin)s AS lo, count(*)"
            " FROM w GROUP BY 1 ORDER BY 1"
        ),
        params,
    ).fetchall()
    survival = conn.execute(
        _WINDOW
        + sql.SQL(
            "SELECT t, avg((rug_tick > t)::int)::float8 FROM w,"
            " unnest(%(ticks)s::int[]) AS t GROUP BY t ORDER BY t"
        ),
        params,
    ).fetchall()
    last_lo = MAX_HISTOGRAM_BINS * bin_width - bin_width
    result["histogram"] = {
        "bin_width": bin_width,
        "bins": [
            {"from": lo, "to": None if lo == last_lo else lo + bin_width, "count": count}
            for lo, count in bins
        ],
    }
    result["survival"] = [{"tick": t, "share_alive_after": s} for t, s in survival]
    result["constant_hazard_fit"] = _geometric_fit(n, total, [t for t, _ in survival])
    return result


def _geometric_fit(n: int, total_ticks: int, ticks: list[int]) -> dict[str, Any] | None:
    """MLE of a constant per-tick rug probability (rug tick ~ geometric on 1, 2, ...)."""
    if total_ticks <= 0:
        return None
    p = min(1.0, n / total_ticks)
    half = Z95 * p * math.sqrt(max(0.0, 1 - p) / n)
    return {
        "per_tick_rug_probability": p,
        "ci95": [max(0.0, p - half), min(1.0, p + half)],
        "p_rug_within_40_ticks": 1 - (1 - p) ** 40,
        "survival": [{"tick": t, "share_alive_after": (1 - p) ** t} for t in ticks],
        "note": "compare with the empirical survival: close values mean no memory in the rug",
    }


def price_path(conn: psycopg.Connection, *, game_id: str, max_points: int) -> dict[str, Any] | None:
    """A round's stored prices, evenly downsampled, always keeping first, last and peak."""
    game = conn.execute(
        "SELECT game_id, mode, rug_tick, peak_multiplier, final_price, started_at, ended_at"
        " FROM games WHERE game_id = %s",
        (game_id,),
    ).fetchone()
    if game is None:
        return None
    rows = conn.execute(
        "SELECT tick, price FROM ticks WHERE game_id = %s ORDER BY tick", (game_id,)
    ).fetchall()
    keys = ("game_id", "mode", "rug_tick", "peak_multiplier", "final_price", "started_at",
            "ended_at")  # fmt: skip
    result: dict[str, Any] = dict(zip(keys, game, strict=True))
    result["ticks_stored"] = len(rows)
    if not rows:
        result["points"] = []
        return result
    prices = np.array([r[1] for r in rows])
    peak = int(np.argmax(prices))
    if len(rows) <= max_points:
        keep = list(range(len(rows)))
    else:
        even = np.linspace(0, len(rows) - 1, max_points - 1).round().astype(int)
        keep = sorted({*even.tolist(), peak})
    result["points"] = [[rows[i][0], rows[i][1]] for i in keep]
    result["downsampled"] = len(keep) < len(rows)
    result["stored_peak"] = {"tick": rows[peak][0], "price": rows[peak][1]}
    return result


def player_trades(
    conn: psycopg.Connection,
    *,
    player_id: str | None,
    username: str | None,
    game_id: str | None,
    limit: int,
) -> dict[str, Any]:
    """A player's most recent trades and a summary of all their matching trades."""
    params = {"pid": player_id, "user": username, "game": game_id, "limit": limit}
    where = sql.SQL("""
        WHERE (%(pid)s::text IS NULL OR player_id = %(pid)s)
          AND (%(user)s::text IS NULL OR username = %(user)s)
          AND (%(game)s::text IS NULL OR game_id = %(game)s)
    """)
    with conn.cursor(row_factory=dict_row) as cur:
        trades = cur.execute(
            sql.SQL("SELECT time, game_id, tick, type, amount, qty, price, leverage FROM trades")
            + where
            + sql.SQL(" ORDER BY time DESC, trade_id DESC LIMIT %(limit)s"),
            params,
        ).fetchall()
        by_type = cur.execute(
            sql.SQL(
                "SELECT type, count(*) AS count, sum(amount) AS amount,"
                " count(DISTINCT game_id) AS games FROM trades"
            )
            + where
            + sql.SQL(" GROUP BY type ORDER BY type"),
            params,
        ).fetchall()
        player = cur.execute(
            "SELECT player_id, username, level, first_seen, last_seen FROM players"
            " WHERE (%(pid)s::text IS NULL OR player_id = %(pid)s)"
            " AND (%(user)s::text IS NULL OR username = %(user)s) LIMIT 2",
            params,
        ).fetchall()
    total = sum(row["count"] for row in by_type)
    return {
        "player": player[0] if len(player) == 1 else None,
        "trades_total": total,
        "by_type": {row.pop("type"): row for row in by_type},
        "trades": trades,
        "truncated": total > len(trades),
    }  # fmt: skip


def sidebet_outcomes(
    conn: psycopg.Connection,
    *,
    mode: str | None,
    player_id: str | None,
    since_hours: float | None,
) -> dict[str, Any]:
    """Resolved sidebets: win rate with a Wilson 95 % interval, stakes, returns, breakevens."""
    row = conn.execute(
        """
        SELECT count(*) FILTER (WHERE s.outcome = 'won') AS won,
               count(*) FILTER (WHERE s.outcome = 'lost') AS lost,
               count(*) FILTER (WHERE s.outcome = 'open') AS open,
               sum(s.amount) FILTER (WHERE s.outcome <> 'open') AS staked,
               sum(coalesce(s.payout, 0)) FILTER (WHERE s.outcome <> 'open') AS returned,
               avg(s.payout_factor) FILTER (WHERE s.outcome <> 'open') AS payout_factor
        FROM sidebets AS s LEFT JOIN games AS g ON g.game_id = s.game_id
        WHERE (%(mode)s::text IS NULL OR g.mode = %(mode)s)
          AND (%(pid)s::text IS NULL OR s.player_id = %(pid)s)
          AND (%(since_hours)s::float8 IS NULL
               OR s.time >= now() - make_interval(secs => %(since_hours)s::float8 * 3600))
        """,
        {"mode": mode, "pid": player_id, "since_hours": since_hours},
    ).fetchone()
    won, lost, still_open, staked, returned, factor = row
    resolved = won + lost
    result: dict[str, Any] = {
        "filters": {"mode": mode, "player_id": player_id, "since_hours": since_hours},
        "resolved": resolved,
        "won": won,
        "lost": lost,
        "open": still_open,
    }
    if resolved:
        result |= {
            "win_rate": won / resolved,
            "win_rate_ci95": wilson_interval(won, resolved),
            "staked": staked,
            "returned": returned,
            "net": (returned or 0) - (staked or 0),
        }
    if factor:
        result["breakeven_win_rate"] = {
            "if_payout_is_total_return": 1 / factor,
            "if_payout_is_profit": 1 / (factor + 1),
            "payout_factor": factor,
        }
    return result


def wilson_interval(successes: int, n: int, z: float = Z95) -> list[float]:
    """Wilson score interval: sound for small n and rates near 0 or 1, unlike p +- z*se."""
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return [max(0.0, centre - half), min(1.0, centre + half)]


def recent_events(
    conn: psycopg.Connection,
    *,
    event_type: str | None,
    game_id: str | None,
    since_minutes: float | None,
    limit: int,
) -> dict[str, Any]:
    """Newest raw events with their scalar payload fields, and counts by type."""
    params = {"type": event_type, "game": game_id, "since": since_minutes, "limit": limit}
    where = sql.SQL("""
        WHERE (%(type)s::text IS NULL OR event_type = %(type)s)
          AND (%(game)s::text IS NULL OR game_id = %(game)s)
          AND (%(since)s::float8 IS NULL
               OR time >= now() - make_interval(secs => %(since)s::float8 * 60))
    """)
    rows = conn.execute(
        sql.SQL("SELECT time, event_type, game_id, source, payload FROM websocket_events")
        + where
        + sql.SQL(" ORDER BY time DESC LIMIT %(limit)s"),
        params,
    ).fetchall()  # fmt: skip
    counts = conn.execute(
        sql.SQL("SELECT event_type, count(*), max(time) FROM websocket_events")
        + where
        + sql.SQL(" GROUP BY event_type ORDER BY event_type"),
        params,
    ).fetchall()  # fmt: skip
    return {
        "filters": {"event_type": event_type, "game_id": game_id, "since_minutes": since_minutes},
        "counts_by_type": {t: {"count": c, "latest": latest} for t, c, latest in counts},
        "events": [_event(*row) for row in rows],
    }


def _event(time: Any, event_type: str, game_id: str | None, source: str | None,
           payload: Any) -> dict[str, Any]:  # fmt: skip
    """Scalar payload fields only: leaderboards and price arrays would swamp the model."""
    fields = payload if isinstance(payload, dict) else {"value": payload}
    scalars = {k: v for k, v in fields.items() if not isinstance(v, dict | list)}
    omitted = sorted(k for k in fields if k not in scalars)
    event = {"time": time, "event_type": event_type, "game_id": game_id, "source": source,
             "payload": scalars}  # fmt: skip
    if omitted:
        event["omitted_fields"] = omitted
    return event
