"""A simulated recording imports into exactly the rounds, ticks, trades and sidebets it
was generated from (issue 4's acceptance across the game engine and the data plane)."""

from __future__ import annotations

import json

import psycopg

from game.recording import write_recording
from game.rules import load_mode
from tools.importer import import_file
from tools.migrations import migrate


def test_recording_round_trips_through_the_importer(tmp_path, fresh_pg_dsn):
    out, truth_path = tmp_path / "rec.jsonl", tmp_path / "truth.json"
    summary = write_recording(load_mode("classic"), 12, seed=21, out=out, truth=truth_path)
    truth = json.loads(truth_path.read_text())["games"]
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
    with psycopg.connect(fresh_pg_dsn) as conn:
        stats = import_file(conn, out, mode="classic")
        assert stats.bad_lines == 0
        games = dict(conn.execute("SELECT game_id, rug_tick FROM games").fetchall())
        ticks = dict(conn.execute("SELECT game_id, count(*) FROM ticks GROUP BY 1").fetchall())
        trades = dict(conn.execute("SELECT game_id, count(*) FROM trades GROUP BY 1").fetchall())
        bets = dict(conn.execute("SELECT game_id, count(*) FROM sidebets GROUP BY 1").fetchall())
        # the announced next game of the last rug is stored with no round behind it
        played = {g: r for g, r in games.items() if r is not None}
    assert set(played) == set(truth)
    for game_id, t in truth.items():
        assert played[game_id] == t["rug_tick"]
        assert ticks[game_id] == t["rug_tick"]  # ticks 0 .. rug-1 each have a price
        assert trades.get(game_id, 0) == t["trades"]
        assert bets.get(game_id, 0) == t["sidebets"]
    assert sum(trades.values()) == summary.trades
    with psycopg.connect(fresh_pg_dsn) as conn:
        again = import_file(conn, out, mode="classic")
    assert (again.games, again.ticks, again.trades, again.sidebets) == (0, 0, 0, 0)
