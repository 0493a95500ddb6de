"""Profiles on the user's real capture (tests/data/real): its players, their trades,
levels and names come through the importer into profiles and live counters."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from capabilities.opponents.archetypes import TOO_LITTLE, fit_archetypes
from capabilities.opponents.history import load_history
from capabilities.opponents.stats import player_stats
from tests.support.jobs import migrated
from tools.importer import import_file
from tools.postgres import Database

CAPTURE = Path(__file__).resolve().parents[1] / "data" / "real" / "websocket_capture_sample.jsonl"


def test_profiles_of_the_real_capture(fresh_pg_dsn, tmp_path):
    # the capture's envelope ({"timestamp", "event_type", "data"}) as the importer reads it
    legacy = tmp_path / "capture.jsonl"
    trades = []
    with CAPTURE.open() as src, legacy.open("w") as out:
        for line in src:
            m = json.loads(line)
            out.write(json.dumps({"event": m["event_type"], "ts": m["timestamp"],
                                  "data": m["data"]}) + "\n")  # fmt: skip
            if m["event_type"] == "standard/newTrade":
                trades.append(m["data"][-1])
    migrated(fresh_pg_dsn)
    with psycopg.connect(fresh_pg_dsn) as conn:
        import_file(conn, legacy)
    database = Database(fresh_pg_dsn)
    try:
        h = load_history(database)
        with database.connection() as conn:
            live = dict(conn.execute("SELECT player_id, trades FROM opponent_live").fetchall())
    finally:
        database.close()
    assert h.n_rounds >= 1
    traders = {t["playerId"] for t in trades}
    assert traders <= set(h.player_ids)
    stats = player_stats(h)
    for t in trades:
        p = h.player_ids.index(t["playerId"])
        assert h.levels[p] == t["level"]
        if t["username"]:
            assert h.usernames[p] == t["username"]
        assert stats.trades[p] >= 1
    assert sum(live.values()) == len(trades)
    jxm = h.player_ids.index(next(t["playerId"] for t in trades if t["username"] == "Jxm"))
    assert stats.pnl[jxm] != 0.0
    archetypes = fit_archetypes(stats)  # one round each: too little data for anyone
    assert {archetypes.label(p)[0] for p in range(h.n_players)} == {TOO_LITTLE}
