"""Opponent profiles' live counters follow the trades stored, once per trade."""

from __future__ import annotations

import random
from collections import Counter

import psycopg

from capabilities.opponents.history import BUY, SELL, load_history
from game.recording import RecordingOptions, simulate_recording
from game.rules import load_mode
from tests.support.jobs import migrated
from tools.ingest import ingest_batch
from tools.postgres import Database


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


def test_counters_equal_the_fit_history_when_batches_interleave_and_repeat(fresh_pg_dsn):
    """The incremental counters and the history a fit reads agree on the same events,
    even when batches of different rounds interleave (concurrent importers) and some
    arrive twice (redelivery)."""
    lines, _ = _lines(8)
    chunks = [lines[i : i + 61] for i in range(0, len(lines), 61)]
    order = list(range(len(chunks)))
    random.Random(5).shuffle(order)
    dsn = migrated(fresh_pg_dsn)
    with psycopg.connect(dsn) as conn:
        for i in order + order[::3]:
            ingest_batch(conn, chunks[i], source="t")
            conn.commit()
        live = {r[0]: r[1:] for r in conn.execute(
            "SELECT player_id, trades, buys, sells, bought, sold, rounds FROM opponent_live"
        ).fetchall()}  # fmt: skip
    database = Database(dsn)
    try:
        h = load_history(database)
    finally:
        database.close()
    assert h.n_rounds == 8 and len(h.t_round) > 0
    want = {}
    for p, pid in enumerate(h.player_ids):
        mine = h.t_player == p
        if not mine.any():
            continue
        buy, sell = mine & (h.t_kind == BUY), mine & (h.t_kind == SELL)
        want[pid] = (int(mine.sum()), int(buy.sum()), int(sell.sum()),
                     float(h.t_amount[buy].sum()), float(h.t_amount[sell].sum()),
                     len(set(h.t_round[mine].tolist())))  # fmt: skip
    assert live.keys() == want.keys()
    for pid, w in want.items():
        got = live[pid]
        assert got[:3] == w[:3] and got[5] == w[5], pid
        assert abs(got[3] - w[3]) < 1e-9 and abs(got[4] - w[4]) < 1e-9, pid
