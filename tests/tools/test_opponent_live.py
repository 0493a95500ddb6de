"""Opponent profiles' live counters follow the trades stored, once per trade."""

from __future__ import annotations

import random
from collections import Counter

import psycopg

from game.recording import RecordingOptions, simulate_recording
from game.rules import load_mode
from tests.support.jobs import migrated
from tools.ingest import ingest_batch


def _lines(n_games: int) -> tuple[list[dict], list[dict]]:
    lines, trades = [], []
    options = RecordingOptions(leaderboard_size=0)
    for played in simulate_recording(load_mode("classic"), n_games, 5, n_players=6,
                                     options=options):  # fmt: skip
        for e in played.events:
            lines.append({"event": e.event, "data": e.data, "ts": e.ts_ms})
            if e.event == "standard/newTrade":
                trades.append(e.data)
    return lines, trades


def test_counters_follow_stored_trades_once_whatever_the_batching(fresh_pg_dsn):
    lines, trades = _lines(6)
    with psycopg.connect(migrated(fresh_pg_dsn)) as conn:
        for i in range(0, len(lines), 97):  # batches cut across rounds
            ingest_batch(conn, lines[i : i + 97], source="t")
        conn.commit()
        shuffled = lines[:]
        random.Random(3).shuffle(shuffled)
        ingest_batch(conn, shuffled, source="t")  # redelivered: nothing new
        conn.commit()
        rows = conn.execute(
            "SELECT player_id, trades, buys, sells, bought, rounds FROM opponent_live"
        ).fetchall()
    want = Counter(t["playerId"] for t in trades)
    got = {r[0]: r for r in rows}
    assert {p: r[1] for p, r in got.items()} == dict(want)
    for p, r in got.items():
        mine = [t for t in trades if t["playerId"] == p]
        assert r[2] == sum(t["type"] == "buy" for t in mine)
        assert r[3] == sum(t["type"] == "sell" for t in mine)
        assert abs(r[4] - sum(t["amount"] for t in mine if t["type"] == "buy")) < 1e-9
        assert r[5] == len({t["gameId"] for t in mine})
