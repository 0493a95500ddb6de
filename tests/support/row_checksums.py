"""A checksum of every stored row of some rounds, to show an operation left them as they
were, byte for byte (timestamps such as `games.updated_at` included)."""

from __future__ import annotations

from collections.abc import Collection

import psycopg

_TABLES = {
    "games": "game_id",
    "ticks": "game_id, tick",
    "websocket_events": "event_key",
    "trades": "trade_id",
    "sidebets": "game_id, player_id, start_tick",
}


def row_checksums(conn: psycopg.Connection, game_ids: Collection[str]) -> dict[str, tuple]:
    """Per table: (rows, md5 of their text forms in key order) of these rounds' rows."""
    ids = list(game_ids)
    return {
        table: conn.execute(
            f"SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY {order}))"
            f" FROM {table} t WHERE game_id = ANY(%s)",
            (ids,),
        ).fetchone()
        for table, order in _TABLES.items()
    }


def table_sizes(conn: psycopg.Connection) -> dict[str, int]:
    """Rows per table, all rounds (a row attached to no round shows here)."""
    return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in _TABLES}
