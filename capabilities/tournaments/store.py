"""Tournaments and their chunks in PostgreSQL (migration 0100).

A chunk is claimed with `FOR UPDATE SKIP LOCKED`, so the tournament job and any number
of chunk jobs share the work without double-playing a chunk; a chunk whose player died
is claimed again once its claim is older than `stale_s`.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from tools.postgres import Database

_FIELDS = ("pnl", "bets", "wins")


def encode_outcome(outcome: dict[str, dict[str, np.ndarray]]) -> bytes:
    arrays = {f"{name}\x1f{k}": v[k] for name, v in outcome.items() for k in _FIELDS}
    out = io.BytesIO()
    np.savez_compressed(out, **arrays)
    return out.getvalue()


def decode_outcome(data: bytes) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        for key in npz.files:
            name, field = key.split("\x1f")
            out.setdefault(name, {})[field] = npz[key]
    return out


def create(database: Database, tournament_id: uuid.UUID, mode: str, spec: dict[str, Any]) -> None:
    """Record a tournament (again: nothing happens)."""
    with database.connection() as conn:
        conn.execute(
            "INSERT INTO tournaments (id, mode, spec) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING",
            (tournament_id, mode, Jsonb(spec)),
        )


def spec_of(database: Database, tournament_id: uuid.UUID) -> dict[str, Any] | None:
    with database.connection() as conn:
        row = conn.execute(
            "SELECT spec FROM tournaments WHERE id = %s", (tournament_id,)
        ).fetchone()
    return row[0] if row else None


def restart(database: Database, tournament_id: uuid.UUID) -> None:
    """A new attempt of the tournament job plays every chunk again."""
    with database.connection() as conn:
        conn.execute("DELETE FROM tournament_chunks WHERE tournament_id = %s", (tournament_id,))
        conn.execute(
            "UPDATE tournaments SET result = NULL, updated_at = now() WHERE id = %s",
            (tournament_id,),
        )


def add_chunk(
    database: Database, tournament_id: uuid.UUID, chunk: int, first_round: int, n_rounds: int
) -> None:
    with database.connection() as conn:
        conn.execute(
            "INSERT INTO tournament_chunks (tournament_id, chunk, first_round, n_rounds) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (tournament_id, chunk, first_round, n_rounds),
        )


def claim(
    database: Database,
    tournament_id: uuid.UUID,
    worker: str,
    *,
    chunk: int | None = None,
    stale_s: float = 300.0,
) -> tuple[int, int, int] | None:
    """(chunk, first round, rounds) of a chunk now this worker's: the given one, or the
    lowest pending (or stale) one; None when there is none to take."""
    with database.connection() as conn:
        row = conn.execute(
            """
            UPDATE tournament_chunks SET state = 'running', worker = %(worker)s,
                                         claimed_at = now()
            WHERE (tournament_id, chunk) = (
                SELECT tournament_id, chunk FROM tournament_chunks
                WHERE tournament_id = %(t)s
                  AND (%(chunk)s::int IS NULL OR chunk = %(chunk)s)
                  AND (state = 'pending' OR (state = 'running'
                       AND claimed_at < now() - make_interval(secs => %(stale)s)))
                ORDER BY chunk LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING chunk, first_round, n_rounds
            """,
            {"worker": worker, "t": tournament_id, "chunk": chunk, "stale": stale_s},
        ).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else None


def finish_chunk(
    database: Database,
    tournament_id: uuid.UUID,
    chunk: int,
    worker: str,
    outcome: bytes,
    seconds: float,
) -> bool:
    """Store a played chunk (False: it was taken over or cancelled meanwhile)."""
    with database.connection() as conn:
        row = conn.execute(
            """
            UPDATE tournament_chunks SET state = 'done', outcome = %s, seconds = %s
            WHERE tournament_id = %s AND chunk = %s AND state = 'running' AND worker = %s
            RETURNING chunk
            """,
            (outcome, seconds, tournament_id, chunk, worker),
        ).fetchone()
    return row is not None


def cancel_pending(database: Database, tournament_id: uuid.UUID) -> None:
    with database.connection() as conn:
        conn.execute(
            "UPDATE tournament_chunks SET state = 'cancelled' "
            "WHERE tournament_id = %s AND state IN ('pending', 'running')",
            (tournament_id,),
        )


def chunk_states(database: Database, tournament_id: uuid.UUID) -> dict[int, str]:
    with database.connection() as conn:
        rows = conn.execute(
            "SELECT chunk, state FROM tournament_chunks WHERE tournament_id = %s",
            (tournament_id,),
        ).fetchall()
    return {int(c): s for c, s in rows}


def done_chunks(
    database: Database, tournament_id: uuid.UUID, chunks: list[int]
) -> list[tuple[int, bytes, float]]:
    """(chunk, outcome, seconds) of those of `chunks` that are done."""
    with database.connection() as conn:
        rows = conn.execute(
            "SELECT chunk, outcome, seconds FROM tournament_chunks "
            "WHERE tournament_id = %s AND chunk = ANY(%s) AND state = 'done' ORDER BY chunk",
            (tournament_id, chunks),
        ).fetchall()
    return [(int(c), bytes(o), float(s)) for c, o, s in rows]


def save_result(database: Database, tournament_id: uuid.UUID, result: dict[str, Any]) -> None:
    with database.connection() as conn:
        conn.execute(
            "UPDATE tournaments SET result = %s, updated_at = now() WHERE id = %s",
            (Jsonb(result), tournament_id),
        )


_SELECT = """
SELECT t.id, coalesce(j.state, 'queued'), t.mode, t.created_at, t.updated_at, t.spec, t.result
FROM tournaments t LEFT JOIN jobs j ON j.id = t.id
"""


def get(database: Database, tournament_id: uuid.UUID) -> tuple[Any, ...] | None:
    with database.connection() as conn:
        return conn.execute(_SELECT + " WHERE t.id = %s", (tournament_id,)).fetchone()


def list_recent(database: Database, limit: int) -> list[tuple[Any, ...]]:
    with database.connection() as conn:
        return conn.execute(_SELECT + " ORDER BY t.created_at DESC LIMIT %s", (limit,)).fetchall()
