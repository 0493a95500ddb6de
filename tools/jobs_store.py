"""The job table: every state change of a job is one conditional UPDATE here.

A worker holds a job through a lease (`worker_id`, `lease_expires_at`) that it renews
while the job runs; every write a worker makes afterwards is fenced on (worker, attempt)
and `state = 'running'`, so a worker whose lease was taken over can no longer change the
job. Attempts are counted here, never trusted from a queue message.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tools.errors import Conflict, FieldError, InvalidInput
from tools.postgres import Database

JobState = Literal["queued", "running", "succeeded", "failed"]
FINAL_STATES = ("succeeded", "failed")

_COLUMNS = sql.SQL(
    "id, kind, payload, state, progress, message, result, error, attempts, max_attempts,"
    " worker_id, lease_expires_at, idempotency_key, created_at, started_at, finished_at,"
    " updated_at, extract(epoch FROM lease_expires_at - now())::float8 AS lease_left_s"
)


def _query(template: str, **parts: sql.Composable) -> sql.Composed:
    """A statement from a constant template; `{columns}` is the Job column list."""
    return sql.SQL(template).format(columns=_COLUMNS, **parts)


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    state: JobState
    progress: float
    message: str | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    max_attempts: int
    worker_id: str | None
    lease_expires_at: datetime | None
    idempotency_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    lease_left_s: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class Attempt:
    attempt: int
    worker_id: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    error: str | None


class JobStore:
    """Job rows in PostgreSQL; each method is one short transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _one(self, query: sql.Composed, params: dict[str, Any]) -> Job | None:
        with self.database.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query, params).fetchone()
        return Job(**row) if row else None

    def _count(self, query: str, params: dict[str, Any]) -> int:
        with self.database.connection() as conn:
            return conn.execute(query, params).rowcount

    def insert(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        max_attempts: int,
        idempotency_key: str | None = None,
    ) -> tuple[Job, bool]:
        """A new queued job, or the existing one with this idempotency key (created=False).

        Reusing a key with a different payload is a Conflict, not a silent mix-up."""
        params = {
            "id": uuid.uuid4(),
            "kind": kind,
            "payload": Jsonb(payload),
            "max_attempts": max_attempts,
            "key": idempotency_key,
        }
        try:
            job = self._one(
                _query(
                    "INSERT INTO jobs (id, kind, payload, max_attempts, idempotency_key)"
                    " VALUES (%(id)s, %(kind)s, %(payload)s, %(max_attempts)s, %(key)s)"
                    " ON CONFLICT (kind, idempotency_key) WHERE idempotency_key IS NOT NULL"
                    " DO NOTHING RETURNING {columns}"
                ),
                params,
            )
        except psycopg.DataError as exc:  # e.g. a NUL character, which jsonb refuses
            raise InvalidInput(
                "the payload cannot be stored", [FieldError("payload", str(exc).splitlines()[0])]
            ) from exc
        if job is not None:
            return job, True
        existing = self._one(
            _query(
                "SELECT {columns} FROM jobs WHERE kind = %(kind)s AND idempotency_key = %(key)s"
            ),
            params,
        )
        if existing is None:  # the conflicting row was deleted meanwhile: insert again
            return self.insert(
                kind, payload, max_attempts=max_attempts, idempotency_key=idempotency_key
            )
        if _canonical(existing.payload) != _canonical(payload):
            raise Conflict(
                f"idempotency key {idempotency_key!r} was already used for job {existing.id} "
                "with a different payload"
            )
        return existing, False

    def get(self, job_id: uuid.UUID) -> Job | None:
        return self._one(_query("SELECT {columns} FROM jobs WHERE id = %(id)s"), {"id": job_id})

    def attempts(self, job_id: uuid.UUID) -> list[Attempt]:
        with self.database.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                "SELECT attempt, worker_id, started_at, finished_at, outcome, error"
                " FROM job_attempts WHERE job_id = %s ORDER BY id",
                (job_id,),
            ).fetchall()
        return [Attempt(**row) for row in rows]

    def mark_enqueued(self, job_id: uuid.UUID) -> None:
        """Record that a message for the job reached the queue (the sweeper's reference)."""
        self._count("UPDATE jobs SET enqueued_at = now() WHERE id = %(id)s", {"id": job_id})

    def claim(self, job_id: uuid.UUID, worker_id: str, lease_s: float) -> Job | None:
        """Take the job if it is queued, or running under an expired lease (its worker
        is gone): attempts + 1, a fresh lease. None when someone else has it or it is
        finished or out of attempts; an abandoned attempt is closed as 'lost'."""
        return self._one(
            _query(
                "WITH claimed AS ("
                "  UPDATE jobs SET state = 'running', attempts = attempts + 1,"
                "   worker_id = %(worker)s,"
                "   lease_expires_at = now() + make_interval(secs => %(lease)s),"
                "   started_at = coalesce(started_at, now()), progress = 0, message = NULL,"
                "   updated_at = now()"
                "  WHERE id = %(id)s AND attempts < max_attempts"
                "   AND (state = 'queued' OR (state = 'running' AND lease_expires_at < now()))"
                "  RETURNING *),"
                " closed AS ("
                "  UPDATE job_attempts SET finished_at = now(), outcome = 'lost'"
                "  WHERE job_id IN (SELECT id FROM claimed) AND finished_at IS NULL),"
                " opened AS ("
                "  INSERT INTO job_attempts (job_id, attempt, worker_id)"
                "  SELECT id, attempts, worker_id FROM claimed)"
                " SELECT {columns} FROM claimed"
            ),
            {"id": job_id, "worker": worker_id, "lease": lease_s},
        )

    def renew(self, job_id: uuid.UUID, worker_id: str, attempt: int, lease_s: float) -> bool:
        """Extend the lease; False when the job is no longer this worker's."""
        return bool(
            self._count(
                "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => %(lease)s)"
                " WHERE id = %(id)s AND worker_id = %(worker)s AND attempts = %(attempt)s"
                " AND state = 'running'",
                {"id": job_id, "worker": worker_id, "attempt": attempt, "lease": lease_s},
            )
        )

    def report_progress(
        self,
        job_id: uuid.UUID,
        worker_id: str,
        attempt: int,
        progress: float,
        message: str | None,
        lease_s: float,
    ) -> bool:
        """Progress (clamped to 0..1) and a lease renewal; False when the job is lost."""
        return bool(
            self._count(
                "UPDATE jobs SET progress = %(progress)s, message = %(message)s,"
                " lease_expires_at = now() + make_interval(secs => %(lease)s), updated_at = now()"
                " WHERE id = %(id)s AND worker_id = %(worker)s AND attempts = %(attempt)s"
                " AND state = 'running'",
                {
                    "id": job_id,
                    "worker": worker_id,
                    "attempt": attempt,
                    "progress": min(1.0, max(0.0, progress)),
                    "message": message,
                    "lease": lease_s,
                },
            )
        )

    def _finish_attempt(
        self,
        set_sql: str,
        outcome_sql: str,
        job_id: uuid.UUID,
        worker_id: str,
        attempt: int,
        extra: dict[str, Any],
    ) -> str | None:
        """One fenced UPDATE of the job and of its open attempt row; the new state or None."""
        params = {"id": job_id, "worker": worker_id, "attempt": attempt, **extra}
        with self.database.connection() as conn:
            row = conn.execute(
                _query(
                    "WITH done AS ("
                    "  UPDATE jobs SET {set}, worker_id = NULL, lease_expires_at = NULL,"
                    "   updated_at = now()"
                    "  WHERE id = %(id)s AND worker_id = %(worker)s AND attempts = %(attempt)s"
                    "   AND state = 'running' RETURNING id, state),"
                    " attempt AS ("
                    "  UPDATE job_attempts SET finished_at = now(), {outcome}"
                    "  WHERE job_id IN (SELECT id FROM done) AND worker_id = %(worker)s"
                    "   AND finished_at IS NULL)"
                    " SELECT state FROM done",
                    set=sql.SQL(set_sql),
                    outcome=sql.SQL(outcome_sql),
                ),
                params,
            ).fetchone()
        return row[0] if row else None

    def succeed(
        self, job_id: uuid.UUID, worker_id: str, attempt: int, result: dict[str, Any]
    ) -> bool:
        """Store the result; ValueError when PostgreSQL refuses it (e.g. a NUL in a string)."""
        try:
            state = self._finish_attempt(
                "state = 'succeeded', result = %(result)s, error = NULL, progress = 1,"
                " finished_at = now()",
                "outcome = 'succeeded'",
                job_id,
                worker_id,
                attempt,
                {"result": Jsonb(result)},
            )
        except psycopg.DataError as exc:
            raise ValueError(f"the result cannot be stored: {exc}") from exc
        return state is not None

    def fail_attempt(
        self, job_id: uuid.UUID, worker_id: str, attempt: int, error: str, *, final: bool = False
    ) -> JobState | None:
        """Record a failed attempt: back to 'queued' while attempts remain, else 'failed';
        `final`: 'failed' at once (another attempt cannot succeed). Returns the new state,
        None when the job was no longer this worker's."""
        retry = "false" if final else "attempts < max_attempts"
        return self._finish_attempt(  # type: ignore[return-value]
            f"state = CASE WHEN {retry} THEN 'queued' ELSE 'failed' END,"
            " error = %(error)s, enqueued_at = now(),"
            f" finished_at = CASE WHEN {retry} THEN NULL ELSE now() END",
            "outcome = 'failed', error = %(error)s",
            job_id,
            worker_id,
            attempt,
            {"error": error},
        )

    def release(self, job_id: uuid.UUID, worker_id: str, attempt: int) -> bool:
        """Give the job back unfinished (worker shutting down); the attempt is not counted."""
        return (
            self._finish_attempt(
                "state = 'queued', attempts = attempts - 1, enqueued_at = now(),"
                " message = 'released by a stopping worker'",
                "outcome = 'released'",
                job_id,
                worker_id,
                attempt,
                {},
            )
            is not None
        )

    def fail_abandoned(self, job_id: uuid.UUID) -> Job | None:
        """A running job whose lease expired on its last allowed attempt: failed."""
        return self._one(
            _query(
                "WITH failed AS ("
                "  UPDATE jobs SET state = 'failed', finished_at = now(), updated_at = now(),"
                "   error = format('attempt %%s of %%s was lost: worker %%s stopped renewing',"
                "    attempts, max_attempts, worker_id),"
                "   worker_id = NULL, lease_expires_at = NULL"
                "  WHERE id = %(id)s AND state = 'running' AND lease_expires_at < now()"
                "   AND attempts >= max_attempts RETURNING *),"
                " closed AS ("
                "  UPDATE job_attempts SET finished_at = now(), outcome = 'lost'"
                "  WHERE job_id IN (SELECT id FROM failed) AND finished_at IS NULL)"
                " SELECT {columns} FROM failed"
            ),
            {"id": job_id},
        )

    def sweep(self, *, unpublished_s: float, stale_s: float, limit: int = 100) -> list[uuid.UUID]:
        """Jobs that may have no message or thread carrying them, marked enqueued now:
        queued and never enqueued for `unpublished_s`, queued and enqueued more than
        `stale_s` ago, or running with a lease expired for more than `unpublished_s`.
        SKIP LOCKED lets several sweepers run at once without handing out a job twice."""
        with self.database.connection() as conn:
            rows = conn.execute(
                "UPDATE jobs SET enqueued_at = now() WHERE id IN ("
                " SELECT id FROM jobs WHERE"
                "  (state = 'queued' AND ((enqueued_at IS NULL AND updated_at < now() - "
                "    make_interval(secs => %(unpublished)s))"
                "   OR enqueued_at < now() - make_interval(secs => %(stale)s)))"
                "  OR (state = 'running' AND lease_expires_at < now() - "
                "    make_interval(secs => %(unpublished)s))"
                " ORDER BY created_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
                " RETURNING id",
                {"unpublished": unpublished_s, "stale": stale_s, "limit": limit},
            ).fetchall()
        return [r[0] for r in rows]

    def clear_enqueued(self, job_ids: list[uuid.UUID]) -> None:
        """Undo `sweep`'s mark for jobs whose message could not be published after all."""
        self._count("UPDATE jobs SET enqueued_at = NULL WHERE id = ANY(%(ids)s)", {"ids": job_ids})

    def counts(self) -> dict[str, int]:
        """Unfinished jobs by state (queue depth as PostgreSQL sees it)."""
        with self.database.connection() as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM jobs WHERE state IN ('queued', 'running')"
                " GROUP BY state"
            ).fetchall()
        return {"queued": 0, "running": 0, **{r[0]: r[1] for r in rows}}


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))
