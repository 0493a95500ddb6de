"""Feature discovery on 1,000 simulated rounds: time to load them from PostgreSQL and to
score every candidate for every target, and what it finds.

Stores the rounds in a fresh database on the machine's PostgreSQL (AGENT_TEST_ADMIN_DSN,
default postgresql://postgres@127.0.0.1:5432/postgres), then runs the job's steps.

    python bench/feature_discovery.py --rounds 1000 --mode classic
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
from capabilities.discovery.history import load_panel
from capabilities.discovery.service import discover
from game.personas import make_players, simulate_players
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.support.stored_rounds import store_activity, store_rounds
from tools.migrations import migrate

ADMIN = os.environ.get("AGENT_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--mode", default="classic")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--players", type=int, default=20)
    args = parser.parse_args()
    name = f"bench_discovery_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(ADMIN, dbname=name)
    try:
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        rounds = simulate_rounds(load_mode(args.mode), args.rounds, seed=args.seed)
        store_rounds(dsn, rounds)
        players = make_players(args.players, seed=args.seed)
        activity = simulate_players(load_mode(args.mode), rounds, players)
        store_activity(dsn, rounds, activity, players)
        ticks, trades = int(rounds.rug_tick.sum()), len(activity.trades)
        started = time.perf_counter()
        with psycopg.connect(dsn) as conn:
            panel = load_panel(conn, args.mode, args.rounds)
        loaded = time.perf_counter() - started
        targets = ["rug_within", "next_return_sign", "next_return_size"]
        if panel.trades is not None:
            targets.append("player_next_action")
        started = time.perf_counter()
        reports, _ = discover(panel, targets)
        scored = time.perf_counter() - started
        print(
            f"{args.rounds} rounds of {args.mode} ({ticks} ticks, {trades} trades): "
            f"load {loaded:.2f} s, "
            f"score {len(targets)} targets {scored:.2f} s, total {loaded + scored:.2f} s"
        )
        for r in reports:
            print(f"  {r.target:<20} {r.units:>7} units  {r.statement}")
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
