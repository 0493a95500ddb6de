"""A migrated database seeded with a few hand-made rounds, shared by the agent-tool tests.

Seeded (times relative to now() so time windows are testable):
classic rounds g1..g4 with rug ticks 3, 50, 120, 250 and peaks 1.05, 2.0, 3.0, 1.5, ended
4, 3, 2 and 1 hours ago; fast_rug round g5 (rug tick 10, peak 1.2) ended 30 minutes ago;
a classic round g6 still running. Ticks for g1, g2 (1 + t/49, peak 2.0 at tick 49) and g3
(a triangle peaking at 3.0 on tick 60). Trades of p1 (alice) and p2 (bob), sidebets in
both modes, and four websocket events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import create_database, drop_database
from tools.migrations import migrate
from tools.postgres import Database

G = {i: f"20260101-{i:016x}" for i in range(1, 7)}

NOW = dt.datetime.now(dt.UTC)


def ago(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


GAMES = [  # game_id, mode, started_at, ended_at, rug_tick, peak, final_price, tick_count
    (G[1], "classic", ago(241), ago(240), 3, 1.05, 0.002, 3),
    (G[2], "classic", ago(181), ago(180), 50, 2.0, 0.002, 50),
    (G[3], "classic", ago(121), ago(120), 120, 3.0, 0.002, 120),
    (G[4], "classic", ago(61), ago(60), 250, 1.5, 0.002, 250),
    (G[5], "fast_rug", ago(31), ago(30), 10, 1.2, 0.002, 10),
    (G[6], "classic", ago(1), None, None, 1.1, None, 4),
]
TICKS = (
    [(G[1], t, [1.0, 1.05, 1.02][t]) for t in range(3)]
    + [(G[2], t, 1 + t / 49) for t in range(50)]
    + [(G[3], t, 1 + 2 * t / 60 if t <= 60 else 3 - 2 * (t - 60) / 60) for t in range(120)]
)
TRADES = [  # trade_id, game, tick, time, player, username, type, amount, qty, price, lev
    ("t1", G[2], 5, ago(180.8), "p1", "alice", "buy", 0.1, 0.0907, 1.102, 1),
    ("t2", G[2], 20, ago(180.7), "p1", "alice", "sell", 0.14, 0.0907, 1.408, 1),
    ("t3", G[3], 10, ago(120.8), "p1", "alice", "buy", 0.2, 0.15, 1.333, 2),
    ("t4", G[3], 30, ago(120.7), "p1", "alice", "short_open", 0.05, 0.025, 2.0, 1),
    ("t5", G[3], 1, ago(120.9), "p2", "bob", "buy", 1.0, 0.97, 1.033, 1),
]
SIDEBETS = [  # game, player, start, end, amount, factor, outcome, payout, time
    (G[2], "p1", 10, 50, 0.01, 5, "won", 0.05, ago(181)),
    (G[3], "p1", 10, 50, 0.01, 5, "lost", 0, ago(121)),
    (G[3], "p2", 70, 110, 0.1, 5, "won", 0.5, ago(120)),
    (G[4], "p2", 100, 140, 0.1, 5, "lost", 0, ago(61)),
    (G[4], "p1", 200, 240, 0.02, 5, "open", None, ago(60)),
    (G[5], "p1", 1, 41, 0.01, 5, "won", 0.05, ago(31)),
]
EVENTS = [  # time, event_type, game_id, payload, event_key
    (ago(120), "gameStateUpdate", G[3], {"gameId": G[3], "tickCount": 100, "price": 1.7}, "k0"),
    (ago(10), "gameStateUpdate", G[6], {"gameId": G[6], "tickCount": 1, "active": True}, "k1"),
    (ago(5), "standard/newTrade", G[6], {"id": "t9", "gameId": G[6], "amount": 0.5}, "k2"),
    (ago(1), "gameStateUpdate", G[6], {"tickCount": 4, "leaderboard": [{"id": "p1"}]}, "k3"),
]


def seed(conn: psycopg.Connection) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO games (game_id, mode, started_at, ended_at, rug_tick,"
            " peak_multiplier, final_price, tick_count)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            GAMES,
        )
        started = {g[0]: g[2] for g in GAMES}
        cur.executemany(
            "INSERT INTO ticks (game_id, tick, time, price) VALUES (%s, %s, %s, %s)",
            [(g, t, started[g] + dt.timedelta(seconds=0.25 * t), p) for g, t, p in TICKS],
        )
        cur.executemany(
            "INSERT INTO players (player_id, username, level, first_seen, last_seen)"
            " VALUES (%s, %s, %s, %s, %s)",
            [("p1", "alice", 12, ago(300), NOW), ("p2", "bob", 3, ago(300), NOW)],
        )
        cur.executemany(
            "INSERT INTO trades (trade_id, game_id, tick, time, player_id, username,"
            " type, amount, qty, price, leverage)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            TRADES,
        )
        cur.executemany(
            "INSERT INTO sidebets (game_id, player_id, start_tick, end_tick, amount,"
            " payout_factor, outcome, payout, time)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            SIDEBETS,
        )
        cur.executemany(
            "INSERT INTO websocket_events (time, event_type, game_id, payload,"
            " source, event_key) VALUES (%s, %s, %s, %s, 'test', %s)",
            [(t, e, g, Jsonb(p), k) for t, e, g, p, k in EVENTS],
        )


@pytest.fixture(scope="session")
def seeded_dsn(pg_admin_dsn: str) -> Iterator[str]:
    dsn = create_database(pg_admin_dsn)
    with psycopg.connect(dsn) as conn:
        migrate(conn)
        conn.autocommit = False
        seed(conn)
        conn.commit()
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest.fixture(scope="session")
def seeded_db(seeded_dsn: str) -> Iterator[Database]:
    database = Database(seeded_dsn, max_size=4)
    yield database
    database.close()


def table_fingerprint(dsn: str) -> dict[str, tuple[int, str]]:
    """Row count and an md5 of every row of each seeded table: equal means unchanged."""
    tables = ("games", "ticks", "trades", "sidebets", "players", "websocket_events")
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f" FROM {table} AS t"
            ).fetchone()
            for table in tables
        }
