"""The runtime's overhead on a deterministic answer (no language model configured) over
the capability's own compute, with real PostgreSQL for the cache and the run records.

Each iteration runs the capability's bare work (`gather` + `compute`, the same tools and
numpy) and then the same request through `Runtime.run`, and records the difference, so
both see the same machine state. Three runtime paths are measured:
`records` (narrating capability, no LLM: run + tool calls recorded), `cache-miss` (plus a
cache lookup and write; every request distinct), `cache-hit` (the answer served from the
cache; its "overhead" is usually negative: the compute is skipped).

    python bench/runtime_overhead.py [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [-n 400]

It creates a scratch database, migrates it, and drops it afterwards. Floor: p95 of the
overhead <= 15 ms on the `records` and `cache-miss` paths.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from capabilities.engines.runtime import Answer, Capability, Evidence, Runtime, RuntimePolicy  # noqa: E402
from tools.migrations import migrate  # noqa: E402
from tools.postgres import Database  # noqa: E402

ROUNDS = 2000


class Request(BaseModel):
    threshold: int = 50
    salt: str = ""


class Result(Answer):
    rug_rate: float
    ci_low: float
    ci_high: float


def rug_ticks(database: Database, threshold: int) -> dict[str, Any]:
    with database.connection() as conn:
        rows = conn.execute("SELECT rug_tick FROM bench_rounds").fetchall()
    return {"threshold": threshold, "ticks": [r[0] for r in rows]}


def build(database: Database, *, cache_ttl_s: int) -> Capability[Request, Result]:
    def tool(threshold: int) -> dict[str, Any]:
        return rug_ticks(database, threshold)

    tool.name = "rug_ticks"  # type: ignore[attr-defined]

    def gather(request: Request, evidence: Evidence) -> None:
        evidence.call(tool, threshold=request.threshold)

    def compute(request: Request, evidence: Evidence) -> Result:
        ticks = np.asarray(evidence["rug_ticks"]["ticks"])
        hits = ticks < request.threshold
        rng = np.random.default_rng(0)
        boot = rng.choice(hits, size=(200, hits.size)).mean(axis=1)
        return Result(
            rug_rate=float(hits.mean()),
            ci_low=float(np.quantile(boot, 0.025)),
            ci_high=float(np.quantile(boot, 0.975)),
        )

    def data_version(db: Database) -> str:
        with db.connection() as conn:
            return str(conn.execute("SELECT max(id) FROM bench_rounds").fetchone()[0])

    return Capability(
        name="bench",
        response_model=Result,
        gather=gather,
        compute=compute,
        narrate=True,
        data_version=data_version,
        cache_ttl_s=cache_ttl_s,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(runtime: Runtime, capability: Capability, n: int, *, distinct: bool) -> dict:
    bare_ms, run_ms, diff_ms = [], [], []
    for i in range(n + 20):
        request = Request(salt=uuid.uuid4().hex if distinct else "")
        t0 = time.perf_counter()
        evidence = Evidence()
        capability.gather(request, evidence)
        capability.compute(request, evidence)
        t1 = time.perf_counter()
        runtime.run(capability, request)
        t2 = time.perf_counter()
        if i >= 20:  # warm-up
            bare_ms.append((t1 - t0) * 1000)
            run_ms.append((t2 - t1) * 1000)
            diff_ms.append((t2 - t1 - (t1 - t0)) * 1000)
    return {
        "bare_p50": statistics.median(bare_ms),
        "run_p50": statistics.median(run_ms),
        "overhead_p50": percentile(diff_ms, 50),
        "overhead_p95": percentile(diff_ms, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("-n", type=int, default=400, help="measured requests per path")
    args = parser.parse_args()
    name = f"bench_runtime_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(args.dsn, dbname=name)
    database = Database(dsn, max_size=4)
    try:
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        rng = np.random.default_rng(1)
        with database.connection() as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE bench_rounds (id serial PRIMARY KEY, rug_tick int)")
            cur.executemany(
                "INSERT INTO bench_rounds (rug_tick) VALUES (%s)",
                [(int(t),) for t in rng.geometric(0.005, ROUNDS)],
            )
        runtime = Runtime(database=database, models=(), policy=RuntimePolicy())
        paths = {
            "records": (build(database, cache_ttl_s=0), True),
            "cache-miss": (build(database, cache_ttl_s=600), True),
            "cache-hit": (build(database, cache_ttl_s=600), False),
        }
        print(f"runtime overhead over bare compute, n={args.n} per path, {ROUNDS} rounds (ms)")
        print(f"{'path':<11} {'bare p50':>9} {'run p50':>9} {'ovh p50':>9} {'ovh p95':>9}")
        for label, (capability, distinct) in paths.items():
            r = measure(runtime, capability, args.n, distinct=distinct)
            print(
                f"{label:<11} {r['bare_p50']:9.2f} {r['run_p50']:9.2f}"
                f" {r['overhead_p50']:9.2f} {r['overhead_p95']:9.2f}"
            )
    finally:
        database.close()
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
