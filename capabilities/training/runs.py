"""Training runs and their learning curves in PostgreSQL (migration 0071).

A run started through the API has its job's id; its state and progress are the job's
(joined at read time, so there is one truth). A run started from the command line has
no job and keeps its own state in its row.
"""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from capabilities.training.models import CurvePoint, TrainingRun, TrainingSpec
from capabilities.training.service import TrainingResult
from tools.policy_store import policy_store
from tools.postgres import Database

_POLICY_NAMESPACE = uuid.UUID("6f1d8d2e-6a43-4c55-9a8e-0b7f3c1e5a21")
# A run's state is its job's when it has one (API runs), else its own (CLI runs).
_GET_SQL = """
SELECT r.id, r.name, r.source, r.env, r.mode,
       coalesce(j.state, r.state), coalesce(j.progress, r.progress),
       coalesce(j.message, r.message), coalesce(j.error, r.error), r.policy_id,
       r.created_at, coalesce(j.started_at, r.started_at),
       coalesce(j.finished_at, r.finished_at), r.spec, r.result
FROM training_runs r LEFT JOIN jobs j ON j.id = r.id
WHERE r.id = %s
"""
_LIST_SQL = """
SELECT r.id, r.name, r.source, r.env, r.mode,
       coalesce(j.state, r.state) AS state, coalesce(j.progress, r.progress),
       coalesce(j.message, r.message), coalesce(j.error, r.error), r.policy_id,
       r.created_at, coalesce(j.started_at, r.started_at),
       coalesce(j.finished_at, r.finished_at), NULL::jsonb, r.result
FROM training_runs r LEFT JOIN jobs j ON j.id = r.id
WHERE (%(state)s::text IS NULL OR coalesce(j.state, r.state) = %(state)s)
ORDER BY r.created_at DESC LIMIT %(limit)s
"""


def create_run(database: Database, run_id: uuid.UUID, spec: TrainingSpec, source: str) -> None:
    """Record a run (again: nothing happens; a retried submission keeps its row)."""
    with database.connection() as conn:
        conn.execute(
            """
            INSERT INTO training_runs (id, name, source, env, mode, spec)
            VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING
            """,
            (run_id, spec.name, source, spec.env, spec.mode, Jsonb(spec.model_dump(mode="json"))),
        )


def start_run(database: Database, run_id: uuid.UUID) -> None:
    """An attempt starts: the curve of an earlier attempt is dropped."""
    with database.connection() as conn:
        conn.execute("DELETE FROM training_curve WHERE run_id = %s", (run_id,))
        conn.execute(
            """
            UPDATE training_runs SET state = 'running', progress = 0, error = NULL,
                   started_at = now(), finished_at = NULL, updated_at = now()
            WHERE id = %s
            """,
            (run_id,),
        )


def add_point(database: Database, run_id: uuid.UUID, point: CurvePoint) -> None:
    with database.connection() as conn:
        conn.execute(
            """
            INSERT INTO training_curve (run_id, step, seconds, evaluation)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (run_id, step) DO UPDATE
                SET seconds = EXCLUDED.seconds, evaluation = EXCLUDED.evaluation
            """,
            (run_id, point.step, point.seconds, Jsonb(point.evaluation)),
        )


def set_progress(database: Database, run_id: uuid.UUID, fraction: float, message: str) -> None:
    with database.connection() as conn:
        conn.execute(
            "UPDATE training_runs SET progress = %s, message = %s, updated_at = now() "
            "WHERE id = %s",
            (min(1.0, max(0.0, fraction)), message, run_id),
        )


def fail_run(database: Database, run_id: uuid.UUID, error: str) -> None:
    with database.connection() as conn:
        conn.execute(
            "UPDATE training_runs SET state = 'failed', error = %s, finished_at = now(), "
            "updated_at = now() WHERE id = %s",
            (error[:2000], run_id),
        )


def finish_run(
    database: Database, run_id: uuid.UUID, spec: TrainingSpec, result: TrainingResult
) -> dict[str, Any]:
    """Store the trained policy (one per run: its id derives from the run's) and close
    the run; returns the run's result summary."""
    policy_id = uuid.uuid5(_POLICY_NAMESPACE, str(run_id))
    final = result.final.to_json()
    policy_store(database).save(
        policy_id=policy_id,
        name=spec.name or f"ppo {spec.mode} {str(run_id)[:8]}",
        env=spec.env,
        mode=spec.mode,
        algorithm=spec.algorithm,
        model_zip=result.model_zip(),
        network=result.network.to_bytes(),
        facts=result.facts,
        scores={"held_out": final},
        run_id=run_id,
    )
    summary = {
        "run_id": str(run_id),
        "policy_id": str(policy_id),
        "steps": result.steps,
        "train_seconds": round(result.seconds, 2),
        "steps_per_second": result.facts["steps_per_second"],
        "final": final,
        "curve_points": len(result.curve),
    }
    with database.connection() as conn:
        conn.execute(
            """
            UPDATE training_runs SET state = 'succeeded', progress = 1, policy_id = %s,
                   result = %s, finished_at = now(), updated_at = now()
            WHERE id = %s
            """,
            (policy_id, Jsonb(summary), run_id),
        )
    return summary


def get_run(
    database: Database, run_id: uuid.UUID, *, with_curve: bool = True
) -> TrainingRun | None:
    with database.connection() as conn:
        row = conn.execute(_GET_SQL, (run_id,)).fetchone()
        if row is None:
            return None
        curve = None
        if with_curve:
            points = conn.execute(
                "SELECT step, seconds, evaluation FROM training_curve WHERE run_id = %s "
                "ORDER BY step",
                (run_id,),
            ).fetchall()
            curve = [CurvePoint(step=s, seconds=t, evaluation=e) for s, t, e in points]
    return _run(row, curve)


def list_runs(
    database: Database, *, limit: int = 50, state: str | None = None
) -> list[TrainingRun]:
    """Runs newest first, without their specs and curves."""
    with database.connection() as conn:
        rows = conn.execute(_LIST_SQL, {"state": state, "limit": limit}).fetchall()
    return [_run(row, None) for row in rows]


def _run(row: tuple[Any, ...], curve: list[CurvePoint] | None) -> TrainingRun:
    (rid, name, source, env, mode, state, progress, message, error, policy_id, created,
     started, finished, spec, result) = row  # fmt: skip
    return TrainingRun(
        id=rid,
        name=name,
        source=source,
        env=env,
        mode=mode,
        state=state,
        progress=progress,
        message=message,
        error=error,
        policy_id=str(policy_id) if policy_id else None,
        created_at=created,
        started_at=started,
        finished_at=finished,
        spec=spec,
        result=result,
        curve=curve,
    )
