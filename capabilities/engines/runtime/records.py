"""What the runtime writes to PostgreSQL: runs, agent steps, tool calls, token spend and
model outcomes. Each write is one short transaction; a step's spend is an atomic
increment of its (day, model) row, so concurrent requests never lose an update."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from capabilities.engines.runtime.evidence import ToolCallRecord
from tools.postgres import Database


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    capability: str
    started_at: datetime
    duration_ms: float
    input_hash: str
    data_version: str
    generated_by: str
    fallback_reason: str | None
    cacheable: bool
    cached: bool
    groundedness: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class StepRecord:
    run_id: str
    attempt: int
    step_number: int
    model: str
    started_at: datetime
    duration_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None
    is_final: bool


_INSERT_CALL = (
    "INSERT INTO agent_tool_calls (run_id, attempt, tool, arguments, started_at, duration_ms,"
    " ok, error) VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s)"
)


def _call_rows(run_id: str, attempt: int, calls: Sequence[ToolCallRecord]) -> list[tuple]:
    return [
        (
            run_id,
            attempt,
            c.tool,
            json.dumps(c.arguments, default=str),
            c.started_at,
            c.duration_ms,
            c.ok,
            c.error,
        )
        for c in calls
    ]


def write_run(database: Database, run: RunRecord, calls: Sequence[ToolCallRecord]) -> None:
    """The run row and the capability's own tool calls (attempt 0), together."""
    with database.connection() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO agent_runs (run_id, capability, started_at, duration_ms, input_hash,"
            " data_version, generated_by, fallback_reason, cacheable, cached, groundedness,"
            " input_tokens, output_tokens, cost_usd)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                run.run_id,
                run.capability,
                run.started_at,
                run.duration_ms,
                run.input_hash,
                run.data_version,
                run.generated_by,
                run.fallback_reason,
                run.cacheable,
                run.cached,
                run.groundedness,
                run.input_tokens,
                run.output_tokens,
                run.cost_usd,
            ),
        )
        if calls:
            cur.executemany(_INSERT_CALL, _call_rows(run.run_id, 0, calls))


def write_step(database: Database, step: StepRecord, calls: Sequence[ToolCallRecord]) -> None:
    """One agent step, its tool calls, and its tokens added to today's spend."""
    with database.connection() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO agent_steps (run_id, attempt, step_number, model, started_at,"
            " duration_ms, input_tokens, output_tokens, error, is_final)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (run_id, attempt, step_number) DO NOTHING",
            (
                step.run_id,
                step.attempt,
                step.step_number,
                step.model,
                step.started_at,
                step.duration_ms,
                step.input_tokens,
                step.output_tokens,
                step.error,
                step.is_final,
            ),
        )
        if calls:
            cur.executemany(_INSERT_CALL, _call_rows(step.run_id, step.attempt, calls))
        if step.input_tokens or step.output_tokens:
            cur.execute(
                "INSERT INTO llm_spend AS s (day, model, calls, input_tokens, output_tokens,"
                " cost_usd) VALUES ((now() AT TIME ZONE 'UTC')::date, %s, 1, %s, %s, %s)"
                " ON CONFLICT (day, model) DO UPDATE SET calls = s.calls + 1,"
                " input_tokens = s.input_tokens + EXCLUDED.input_tokens,"
                " output_tokens = s.output_tokens + EXCLUDED.output_tokens,"
                " cost_usd = s.cost_usd + EXCLUDED.cost_usd",
                (step.model, step.input_tokens, step.output_tokens, step.cost_usd),
            )


def write_outcome(
    database: Database,
    *,
    capability: str,
    model: str,
    success: bool,
    groundedness: float | None,
    latency_ms: float,
    cost_usd: float,
    reason: str | None,
) -> None:
    """One model attempt's outcome: what the router learns from."""
    with database.connection() as conn:
        conn.execute(
            "INSERT INTO llm_outcomes (capability, model, success, groundedness, latency_ms,"
            " cost_usd, reason) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (capability, model, success, groundedness, latency_ms, cost_usd, reason),
        )
