"""A small capability over rounds the test inserts in PostgreSQL, with real tools, to
exercise the runtime (the product's ten capabilities live elsewhere)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from smolagents import Tool

from capabilities.engines.runtime import Answer, Capability, Evidence
from tools.postgres import Database

RUG_TICKS = (10, 30, 60, 100, 150, 200, 250, 300, 400, 500)
# what the tools compute from RUG_TICKS: mean 200.0, share below 50 = 0.2, p90 = 410.0


def load_rounds(database: Database, ticks: tuple[int, ...] = RUG_TICKS) -> None:
    with database.connection() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS sample_rounds (id serial PRIMARY KEY, rug_tick int)"
        )
        conn.execute("TRUNCATE sample_rounds")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO sample_rounds (rug_tick) VALUES (%s)", [(t,) for t in ticks]
            )


class MeanRugTick(Tool):
    name = "mean_rug_tick"
    description = "Mean tick at which the recorded rounds rugged, and how many rounds there are."
    inputs: dict[str, Any] = {}
    output_type = "object"

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database

    def forward(self) -> dict[str, Any]:
        with self.database.connection() as conn:
            mean, n = conn.execute(
                "SELECT avg(rug_tick)::float8, count(*) FROM sample_rounds"
            ).fetchone()
        return {"mean_rug_tick": round(mean, 2), "rounds": n}


class RugRate(Tool):
    name = "rug_rate"
    description = "Share of recorded rounds that rugged before the given tick."
    inputs = {"threshold": {"type": "integer", "description": "the tick"}}
    output_type = "object"

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database

    def forward(self, threshold: int) -> dict[str, Any]:
        with self.database.connection() as conn:
            (rate,) = conn.execute(
                "SELECT avg((rug_tick < %s)::int)::float8 FROM sample_rounds", (threshold,)
            ).fetchone()
        return {"threshold": threshold, "rug_rate": round(rate, 4)}


class RugQuantile(Tool):
    name = "rug_quantile"
    description = "The tick by which the given share of recorded rounds had rugged."
    inputs = {"q": {"type": "number", "description": "a share between 0 and 1"}}
    output_type = "object"

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database

    def forward(self, q: float) -> dict[str, Any]:
        if not 0 <= q <= 1:
            raise ValueError("q must be between 0 and 1")
        with self.database.connection() as conn:
            (tick,) = conn.execute(
                "SELECT percentile_cont(%s) WITHIN GROUP (ORDER BY rug_tick) FROM sample_rounds",
                (q,),
            ).fetchone()
        return {"q": q, "rug_tick": tick}


class SampleRequest(BaseModel):
    threshold: int = Field(50, ge=1)


class SampleAnswer(Answer):
    mean_rug_tick: float
    rug_rate: float
    rounds: int


def sample_capability(
    database: Database, **options: Any
) -> Capability[SampleRequest, SampleAnswer]:
    mean_tool, rate_tool = MeanRugTick(database), RugRate(database)

    def gather(request: SampleRequest, evidence: Evidence) -> None:
        evidence.call(mean_tool)
        evidence.call(rate_tool, threshold=request.threshold)

    def compute(request: SampleRequest, evidence: Evidence) -> SampleAnswer:
        return SampleAnswer(
            mean_rug_tick=evidence["mean_rug_tick"]["mean_rug_tick"],
            rug_rate=evidence["rug_rate"]["rug_rate"],
            rounds=evidence["mean_rug_tick"]["rounds"],
        )

    def data_version(db: Database) -> str:
        with db.connection() as conn:
            n, top = conn.execute(
                "SELECT count(*), coalesce(max(id), 0) FROM sample_rounds"
            ).fetchone()
        return f"{n}:{top}"

    defaults: dict[str, Any] = {
        "name": "sample_stats",
        "response_model": SampleAnswer,
        "gather": gather,
        "compute": compute,
        "narrate": True,
        "tools": (mean_tool, rate_tool, RugQuantile(database)),
        "data_version": data_version,
    }
    defaults.update(options)
    return Capability(**defaults)
