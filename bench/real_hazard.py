"""The rug hazard fitted from real recordings: import them into a fresh database, fit.

Imports PATHs (any format `agent-service import` reads; default: every file under
tests/data/real/) into a new database on --admin-dsn with `tools.importer.import_files`,
then fits the mode's hazard as the model registry does (left-truncated rounds enter the
risk set after their first observed tick) and prints the per-tick rate with its 95 %
interval, the constant-hazard tests, the fit against the mode's documented law, the
rounds used and the import rate.

    python bench/real_hazard.py [PATH...] [--mode classic]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capabilities.engines.game_models.hazard import fit_hazard
from capabilities.engines.game_models.registry import load_history
from game.rules import load_mode
from tools.importer import import_files
from tools.migrations import migrate
from tools.verification import verify_stored_rounds

REAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "real"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--mode", default="classic")
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    paths = args.paths or sorted(p for p in REAL.rglob("*") if p.is_file())
    name = f"bench_hazard_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(args.admin_dsn, dbname=name)
    try:
        with psycopg.connect(dsn) as conn:
            migrate(conn)
            conn.autocommit = False
            started = time.perf_counter()
            stats = import_files(
                conn,
                paths,
                mode=args.mode,
                on_bad_line=lambda p, n, why: print(f"{p}:{n}: {why}", file=sys.stderr),
            )
            wall = time.perf_counter() - started
            history = load_history(conn, args.mode, 1_000_000)
            checked = verify_stored_rounds(conn)
    finally:
        with psycopg.connect(args.admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"imported {len(paths)} files: {stats.games} rounds, {stats.ticks} ticks in {wall:.2f} s "
        f"({stats.ticks / wall:,.0f} ticks/s); {stats.bad_lines} bad lines; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    model = fit_hazard(history.rug, entry=history.entry, min_events=min(40, len(history.rug)))
    t = model.test
    print(
        f"hazard ({args.mode}, {model.rounds} rounds with a rug, {model.left_truncated} "
        f"left-truncated, {model.exposure} round-ticks at risk, {model.events} rugs): "
        f"{model.rate:.5f} per tick, 95 % [{model.rate_low:.5f}, {model.rate_high:.5f}] "
        f"(documented 0.005); mean ticks to rug {1 / model.rate:.0f}; constant-hazard LR "
        f"p={t.lr_p_value:.3f}, trend z={t.trend_z:.2f} p={t.trend_p_value:.3f}; model {model.kind}"
    )
    gof = model.goodness_of_fit(load_mode(args.mode).hazard)
    print(
        f"against {args.mode}'s documented hazard (GET /v1/models/game/{args.mode}): "
        f"chi-square {gof.statistic:.1f}, df {gof.df}, p={gof.p_value:.3f}"
    )
    naive = fit_hazard(history.rug, min_events=min(40, len(history.rug)))
    print(
        f"the same rounds all counted from tick 0 (no left truncation): {naive.rate:.5f} "
        f"[{naive.rate_low:.5f}, {naive.rate_high:.5f}]"
    )
    print(f"seeded rounds replayed: {checked.rounds}, verified {checked.verified}, "
          f"failed {checked.failed}")  # fmt: skip


if __name__ == "__main__":
    main()
