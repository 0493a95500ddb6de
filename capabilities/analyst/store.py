"""Surrogates in PostgreSQL: each fit is a new version of the bot's surrogate."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from capabilities.analyst.surrogate import Surrogate
from tools.postgres import Database

_SAVE_SQL = """
INSERT INTO surrogates (bot_id, version, feature_names, model)
SELECT %(bot)s, coalesce(max(version), 0) + 1, %(names)s, %(model)s
FROM surrogates WHERE bot_id = %(bot)s
RETURNING version
"""
_LOAD_SQL = """
SELECT version, model FROM surrogates WHERE bot_id = %(bot)s ORDER BY version DESC LIMIT 1
"""


def save_surrogate(database: Database, bot_id: str, surrogate: Surrogate) -> int:
    """Store a new version; returns its number."""
    with database.connection() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"surrogate:{bot_id}",))
        row = conn.execute(
            _SAVE_SQL,
            {
                "bot": bot_id,
                "names": list(surrogate.feature_names),
                "model": Jsonb(surrogate.to_json()),
            },
        ).fetchone()
    assert row is not None
    return int(row[0])


def load_surrogate(database: Database, bot_id: str) -> tuple[int, Surrogate] | None:
    with database.connection() as conn:
        row = conn.execute(_LOAD_SQL, {"bot": bot_id}).fetchone()
    return (int(row[0]), Surrogate.from_json(row[1])) if row else None
