"""Player profiles in PostgreSQL (migration 0080): written by a fit, read by the API.

A profile is the player's figures (`stats.FEATURES`) each with the number of
observations behind it and, for medians, a 95 % interval; realized PnL with the
interval of its per-round mean and the recent form; the archetype memberships; and the
next-action model's accuracy on the player's later rounds. The consumer's counters
(`opponent_live`, tools/opponent_live.py) ride along as `live`.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from psycopg.types.json import Jsonb

from capabilities.opponents.archetypes import Archetypes
from capabilities.opponents.history import History
from capabilities.opponents.models import Opponent, OpponentArchetype, OpponentList, OpponentSummary
from capabilities.opponents.stats import FEATURES, PlayerStats
from tools.postgres import Database


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), 6)


def profile_rows(
    model_id: uuid.UUID,
    h: History,
    stats: PlayerStats,
    archetypes: Archetypes,
    accuracy: dict[int, dict[str, Any]],
) -> list[tuple[Any, ...]]:
    """One row per player who acted at least once."""
    rows = []
    for p in range(h.n_players):
        if stats.rounds_played[p] == 0:
            continue
        name, prob = archetypes.label(p)
        figures = {}
        for i, f in enumerate(FEATURES):
            entry: dict[str, Any] = {
                "value": _num(stats.values[p, i]),
                "n": int(stats.counts[p, i]),
            }
            if f in stats.intervals:
                entry["ci95"] = [_num(v) for v in stats.intervals[f][p]]
            figures[f] = entry
        members = sorted(
            ((archetypes.names[k], float(archetypes.memberships[p, k]))
             for k in range(len(archetypes.names))), key=lambda x: -x[1])[:3]  # fmt: skip
        profile = {
            "rounds_seen": int(stats.rounds_seen[p]),
            "rounds_played": int(stats.rounds_played[p]),
            "trades": int(stats.trades[p]),
            "sidebets": int(stats.sidebets[p]),
            "entry_price": _num(stats.entry_price[p]),
            "figures": figures,
            "pnl": {
                "total": _num(stats.pnl[p]),
                "per_round_ci95": [_num(v) for v in stats.pnl_ci[p]],
                "recent_form": _num(stats.form[p]),
            },
            "memberships": [{"name": n, "probability": round(v, 4)} for n, v in members],
            "enough_data": bool(archetypes.enough[p]),
            "model_accuracy": accuracy.get(p),
        }
        rows.append((
            h.player_ids[p], h.usernames[p], h.levels[p], model_id, name, prob,
            int(stats.rounds_played[p]), int(stats.trades[p]), float(stats.pnl[p]), Jsonb(profile),
        ))  # fmt: skip
    return rows


def store_profiles(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    """Replace every profile with the fit's (in the caller's transaction)."""
    conn.execute("DELETE FROM opponent_profiles")
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO opponent_profiles (player_id, username, level, model_id, archetype,
                archetype_p, rounds_played, trades, pnl, profile)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            rows,
        )


_COLUMNS = """p.player_id, coalesce(pl.username, p.username), coalesce(pl.level, p.level),
    p.archetype, p.archetype_p, p.rounds_played, p.trades, p.pnl"""


def _summary(row: tuple[Any, ...]) -> OpponentSummary:
    return OpponentSummary(
        player_id=row[0],
        username=row[1],
        level=row[2],
        archetype=OpponentArchetype(name=row[3], probability=row[4]),
        rounds_played=row[5],
        trades=row[6],
        pnl=row[7],
    )


def get_profile(database: Database, player_id: str) -> Opponent | None:
    with database.connection() as conn:
        row = conn.execute(
            f"""
            SELECT {_COLUMNS}, p.model_id, p.fitted_at, p.profile,
                   CASE WHEN l.player_id IS NULL THEN NULL ELSE jsonb_build_object(
                       'trades', l.trades, 'buys', l.buys, 'sells', l.sells,
                       'bought', l.bought, 'sold', l.sold, 'rounds', l.rounds,
                       'last_trade_at', l.last_trade_at) END
            FROM opponent_profiles p
            LEFT JOIN players pl ON pl.player_id = p.player_id
            LEFT JOIN opponent_live l ON l.player_id = p.player_id
            WHERE p.player_id = %s
            """,  # noqa: S608 (constant column list)
            (player_id,),
        ).fetchone()
    if row is None:
        return None
    base = _summary(row)
    return Opponent(**base.model_dump(), model_id=row[8], fitted_at=row[9], profile=row[10],
                    live=row[11])  # fmt: skip


def _cursor(value: float, player_id: str) -> str:
    """`value~player_id` of the last row of a page (models.CURSOR is its pattern)."""
    return f"{value.hex()}~{player_id}"


def _decode_cursor(cursor: str) -> tuple[float, str]:
    value, player_id = cursor.split("~", 1)
    try:
        return float.fromhex(value), player_id
    except OverflowError:  # beyond any PnL: every row is after it, or none
        return (-math.inf if value.startswith("-") else math.inf), player_id


def list_profiles(
    database: Database, *, archetype: str | None, sort: str, limit: int, cursor: str | None
) -> OpponentList:
    """Profiles sorted by PnL or activity (rounds played), descending, keyset-paged."""
    column = "p.pnl" if sort == "pnl" else "p.rounds_played"
    after = _decode_cursor(cursor) if cursor else None
    with database.connection() as conn:
        rows = conn.execute(
            f"""
            SELECT {_COLUMNS} FROM opponent_profiles p
            LEFT JOIN players pl ON pl.player_id = p.player_id
            WHERE (%(arch)s::text IS NULL OR p.archetype = %(arch)s)
              AND (%(v)s::float8 IS NULL OR ({column}, p.player_id) < (%(v)s, %(p)s))
            ORDER BY {column} DESC, p.player_id DESC
            LIMIT %(limit)s
            """,  # noqa: S608 (column is one of two constants)
            {
                "arch": archetype,
                "v": after[0] if after else None,
                "p": after[1] if after else None,
                "limit": limit + 1,
            },
        ).fetchall()
    items = [_summary(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = items[-1] if items else None
    next_cursor = None
    if more and last is not None:
        next_cursor = _cursor(float(last.pnl if sort == "pnl" else last.rounds_played),
                              last.player_id)  # fmt: skip
    return OpponentList(items=items, next_cursor=next_cursor)
