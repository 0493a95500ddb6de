from __future__ import annotations

import psycopg
import pytest

from tests.tools.recordings import make_recording
from tools.ingest import ingest_batch
from tools.migrations import migrate

DATA_TABLES = {
    "websocket_events": {"time", "event_type", "game_id", "payload", "source", "event_key"},
    "games": {
        "game_id", "mode", "started_at", "ended_at", "rug_tick", "peak_multiplier",
        "final_price", "server_seed", "server_seed_hash", "tick_count", "updated_at",
    },
    "ticks": {"game_id", "tick", "time", "price"},
    "trades": {
        "trade_id", "game_id", "tick", "time", "player_id", "username", "type", "amount",
        "qty", "price", "leverage",
    },
    "sidebets": {
        "game_id", "player_id", "start_tick", "end_tick", "amount", "payout_factor",
        "outcome", "payout", "time",
    },
    "players": {"player_id", "username", "level", "first_seen", "last_seen"},
    "game_stats_minute": {"bucket", "games", "mean_rug_tick", "mean_peak", "trades"},
}  # fmt: skip


def columns(conn: psycopg.Connection, table: str) -> set[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
    )
    return {r[0] for r in rows}


def has_timescale(conn: psycopg.Connection) -> bool:
    return (
        conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
        is not None
    )


def test_data_schema_applies_to_an_empty_database_then_is_a_no_op(fresh_pg_dsn):
    with psycopg.connect(fresh_pg_dsn) as conn:
        applied = migrate(conn)
        assert {"0001_timescaledb", "0004_storage_path", "0005_game_stats_minute"} <= set(applied)
        assert migrate(conn) == []
        for table, expected in DATA_TABLES.items():
            assert expected <= columns(conn, table), table
        if (
            conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
            is None
        ):
            indexes = dict(
                conn.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                )
            )
            assert "UNIQUE" in indexes["websocket_events_key"]
            assert "(event_key)" in indexes["websocket_events_key"]
            assert "(game_id, tick)" in indexes["ticks_key"]
            assert "(trade_id)" in indexes["trades_key"]
            for table in ("websocket_events", "ticks", "trades", "sidebets"):
                assert 'USING brin ("time")' in indexes[f"{table}_time_brin"]


def test_natural_keys_refuse_a_second_copy(fresh_pg_dsn):
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
        conn.execute("INSERT INTO ticks VALUES ('g', 1, '2026-01-01', 1.5)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO ticks VALUES ('g', 1, '2026-01-01', 1.5)")


def test_existing_bot_table_is_kept_and_extended(fresh_pg_dsn):
    with psycopg.connect(fresh_pg_dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE websocket_events (time timestamptz NOT NULL, event_type text,"
            " game_id text, payload jsonb, source text)"
        )
        conn.execute(
            "INSERT INTO websocket_events VALUES (now(), 'gameStateUpdate', 'g', '{}', 'bot')"
        )
        migrate(conn)
        assert "event_key" in columns(conn, "websocket_events")
        assert conn.execute("SELECT source FROM websocket_events").fetchall() == [("bot",)]


def test_game_stats_minute_groups_rounds_and_trades_by_minute(fresh_pg_dsn):
    rec = make_recording(5, seed=9, max_rug=80)
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
        conn.autocommit = False
        ingest_batch(conn, rec.lines(), source="test")
        rows = conn.execute(
            "SELECT sum(games), sum(trades), sum(mean_rug_tick * games) FROM game_stats_minute"
        ).fetchone()
        assert rows[0] == 5
        assert rows[1] == sum(r.trades for r in rec.rounds)
        assert rows[2] == pytest.approx(sum(r.rug_tick for r in rec.rounds))
        expected = conn.execute(
            "SELECT date_bin('1 minute', ended_at, '2000-01-01'), count(*) FROM games"
            " WHERE ended_at IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        got = conn.execute(
            "SELECT bucket, games FROM game_stats_minute WHERE games > 0 ORDER BY 1"
        ).fetchall()
        assert got == expected


@pytest.mark.timescaledb
def test_timescaledb_path(fresh_pg_dsn):
    """Runs only where the extension exists (never required by AGENT_REQUIRE_SERVICES)."""
    with psycopg.connect(fresh_pg_dsn) as conn:
        if not has_timescale(conn):
            pytest.skip("the timescaledb extension is not available on this server")
        migrate(conn)
        if (
            conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
            is None
        ):
            pytest.skip("timescaledb is available but could not be created (not preloaded?)")
        hypertables = {
            r[0]
            for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
        }
        assert {"websocket_events", "ticks", "trades"} <= hypertables
        caggs = {
            r[0]
            for r in conn.execute(
                "SELECT view_name FROM timescaledb_information.continuous_aggregates"
            )
        }
        assert "trades_minute" in caggs
        assert migrate(conn) == []
        rec = make_recording(3, seed=4)
        conn.autocommit = False
        first = ingest_batch(conn, rec.lines(), source="test")
        conn.commit()
        again = ingest_batch(conn, rec.lines(), source="test")
        conn.commit()
        assert first.ticks == sum(r.rug_tick for r in rec.rounds)
        assert (again.events, again.ticks, again.trades) == (0, 0, 0)
        stats = conn.execute("SELECT sum(games), sum(trades) FROM game_stats_minute").fetchone()
        assert stats == (3, sum(r.trades for r in rec.rounds))
