"""Import throughput: a synthetic recording (JSONL) into a fresh PostgreSQL database.

`--format replayer` imports REPLAYER per-tick files instead (`--rounds`, `--per-file`)
and prints ticks/s and rounds/s (ticks stored: one per active tick of each round).

Generates N events shaped like the live feed (gameStateUpdate about 4/s with a 10-player
leaderboard and partial prices, trades, sidebets, the rug sequence), imports them with
`tools.importer.import_file` (what `agent-service import` runs) into a new database on
the server given by --admin-dsn, and prints events/s. Floor on the 2-core target:
20,000 events/s. The database is dropped afterwards.

    python bench/import_throughput.py [--events 200000] [--batch 2000] [--workers 2] [--gzip]
    python bench/import_throughput.py --format replayer [--rounds 500] [--per-file 1]

`--workers` as for `agent-service import` (processes that parse and write raw events,
ticks and trades in parallel; 0 = one process). With workers, the CPU figures cover this
process and its workers (children) and every PostgreSQL backend of the database.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import wait
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.proc_cpu import cpu_seconds
from tools.importer import ImportStats, ImportWorkers, import_file, import_files
from tools.migrations import migrate

TICK = timedelta(milliseconds=250)


def generate(path: Path, n_events: int, seed: int, compress: bool) -> dict[str, int]:
    """Write about `n_events` lines; returns how many of each kind."""
    rng = random.Random(seed)
    players = [(f"P{i:04d}", f"player{i}", rng.randint(1, 40)) for i in range(200)]
    counts = {"gameStateUpdate": 0, "standard/newTrade": 0, "sidebet": 0, "rounds": 0}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    seq = 0
    opener = gzip.open if compress else open
    with opener(path, "wt") as out:

        def emit(event: str, data: dict) -> None:
            nonlocal seq
            seq += 1
            ts = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            line = {"seq": seq, "ts": ts, "event": event, "data": data}
            line.update(source="bench", direction="received")
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
            counts["sidebet" if "idebet" in event else event] += 1

        while seq < n_events:
            gid = f"{now:%Y%m%d}-{rng.getrandbits(64):016x}"
            seed_hash = f"{rng.getrandbits(256):064x}"
            counts["rounds"] += 1
            board = rng.sample(players, 10)
            price, prices = 1.0, []
            tick = 0
            while True:
                if tick > 0 and rng.random() < 0.005:
                    break
                if tick > 0:
                    move = rng.uniform(0.15, 0.25) if rng.random() < 0.125 else 0.0
                    change = move * (1 if rng.random() > 0.5 else -1) or rng.uniform(-0.02, 0.03)
                    price = max(0.0, price * (1 + change))
                prices.append(price)
                emit(
                    "gameStateUpdate",
                    {
                        "gameId": gid,
                        "active": True,
                        "rugged": False,
                        "price": price,
                        "tickCount": tick,
                        "tradeCount": counts["standard/newTrade"],
                        "cooldownTimer": 0,
                        "cooldownPaused": False,
                        "allowPreRoundBuys": False,
                        "connectedPlayers": 180 + tick % 40,
                        "partialPrices": {
                            "startTick": max(0, tick - 4),
                            "endTick": tick,
                            "values": {
                                str(t): prices[t] for t in range(max(0, tick - 4), tick + 1)
                            },
                        },
                        "provablyFair": {"serverSeedHash": seed_hash, "version": "v3"},
                        "rugpool": {"instarugCount": 2, "threshold": 10, "rugpoolAmount": 1.5},
                        "leaderboard": [
                            {
                                "id": pid,
                                "username": name,
                                "level": level,
                                "pnl": round(rng.uniform(-0.5, 0.5), 6),
                                "pnlPercent": round(rng.uniform(-50, 50), 3),
                                "positionQty": round(rng.uniform(0, 2), 6),
                                "avgCost": 1.0,
                                "totalInvested": 0.1,
                                "sidebetActive": False,
                            }
                            for pid, name, level in board
                        ],
                    },
                )
                for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
                    pid, name, level = rng.choice(players)
                    emit(
                        "standard/newTrade",
                        {
                            "id": uuid.UUID(int=rng.getrandbits(128)).hex,
                            "gameId": gid,
                            "playerId": pid,
                            "username": name,
                            "level": level,
                            "type": rng.choice(("buy", "sell", "buy", "short_open")),
                            "amount": 0.01,
                            "qty": 0.01 / max(price, 1e-6),
                            "price": price,
                            "tickIndex": tick,
                            "coin": "solana",
                        },
                    )
                if tick % 60 == 5:
                    emit(
                        "currentSidebet",
                        {"gameId": gid, "betAmount": 0.01, "xPayout": 5, "startTick": tick},
                    )
                now += TICK
                tick += 1
            emit(
                "gameStateUpdate",
                {
                    "gameId": gid,
                    "active": True,
                    "rugged": True,
                    "price": 0.02,
                    "tickCount": tick,
                    "provablyFair": {"serverSeed": f"{rng.getrandbits(128):032x}"},
                },
            )
            now += timedelta(seconds=15)
    return counts


def generate_replayer(
    folder: Path, n_rounds: int, seed: int, per_file: int, compress: bool
) -> dict[str, int]:
    """REPLAYER recordings as the bot writes them (`game_start`, presale `tick` lines at
    tick 0, active ticks, the rugged ticks, `game_end`), `per_file` rounds a file; every
    tenth file starts mid-round. Returns the rounds, the ticks an import stores, files."""
    rng = random.Random(seed)
    now = datetime(2025, 11, 1, tzinfo=UTC)
    counts = {"rounds": 0, "ticks": 0, "lines": 0, "files": 0}
    opener = gzip.open if compress else open
    for first in range(0, n_rounds, per_file):
        name = folder / f"game_{first:06d}.jsonl{'.gz' if compress else ''}"
        counts["files"] += 1
        with opener(name, "wt") as out:

            def line(kind: str, gid: str, **fields: object) -> None:
                stamp = now.isoformat().replace("+00:00", "")  # noqa: B023 (the clock moves on)
                out.write(json.dumps({"type": kind, "timestamp": stamp, "game_id": gid, **fields}))
                out.write("\n")
                counts["lines"] += 1

            for r in range(first, min(first + per_file, n_rounds)):
                gid = f"{now:%Y%m%d}-{rng.getrandbits(64):016x}"
                rug = 1
                while rng.random() >= 0.005:
                    rug += 1
                start = rng.randint(1, rug - 1) if counts["files"] % 10 == 0 and rug > 1 else 0
                counts["rounds"] += 1
                counts["ticks"] += rug - start
                line("game_start", gid, session_game_number=r + 1)
                tick = dict(phase="PRESALE", active=False, rugged=False, trade_count=0)
                for timer in range(40 if start == 0 else 0):
                    line("tick", gid, tick=0, price=1.0, cooldown_timer=4000 - 100 * timer, **tick)
                    now += TICK
                price = 1.0
                for t in range(start, rug):
                    if t > 0:
                        move = rng.uniform(0.15, 0.25) if rng.random() < 0.125 else 0.0
                        change = move * (1 if rng.random() > 0.5 else -1) or rng.uniform(
                            -0.02, 0.03
                        )
                        price = max(0.0, price * (1 + change))
                    phase = "GAME_ACTIVATION" if t == 0 else "ACTIVE_GAMEPLAY"
                    line("tick", gid, tick=t, price=price, phase=phase, active=True,
                         rugged=False, cooldown_timer=0, trade_count=t * 3)  # fmt: skip
                    now += TICK
                for t, phase in ((rug, "ACTIVE_GAMEPLAY"), (rug + 2, "RUG_EVENT_1")):
                    line("tick", gid, tick=t, price=0.02, phase=phase, active=True,
                         rugged=True, cooldown_timer=0, trade_count=0)  # fmt: skip
                line("game_end", gid, total_ticks=rug - start, tick_range=[start, rug + 2],
                     peak_price=price, final_price=0.02)  # fmt: skip
                now += timedelta(seconds=15)
    return counts


def bench_replayer(args: argparse.Namespace) -> None:
    """Import REPLAYER files (`import_files`, as the CLI does) and print ticks/s."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        counts = generate_replayer(folder, args.rounds, args.seed, args.per_file, args.gzip)
        print(f"generated {counts} in {time.perf_counter() - t0:.1f} s")
        files = sorted(folder.iterdir())
        with _import_database(args, "replayer") as (_name, conn, workers):
            runs = []
            for _ in range(2):  # the second run adds nothing: the cost of idempotence
                stats = ImportStats()
                t0 = time.perf_counter()
                import_files(conn, files, batch_size=args.batch, stats=stats, workers=workers)
                runs.append((stats, time.perf_counter() - t0))
    (stats, wall), (repeat, wall_again) = runs
    print(
        f"REPLAYER import: {counts['rounds']} rounds, {stats.ticks} ticks ({stats.lines} lines, "
        f"{len(files)} files) in {wall:.2f} s = {stats.ticks / wall:,.0f} ticks/s, "
        f"{counts['rounds'] / wall:,.1f} rounds/s, {stats.lines / wall:,.0f} lines/s "
        f"(batch {args.batch}, {args.workers} workers); added {stats.games} games; "
        f"{stats.bad_lines} bad lines"
    )
    print(
        f"re-import: {wall_again:.2f} s ({counts['ticks'] / wall_again:,.0f} ticks/s), added "
        f"{repeat.games} games, {repeat.ticks} ticks; load: {os.getloadavg()[0]:.1f}"
    )


@contextmanager
def _import_database(
    args: argparse.Namespace, parser: str
) -> Iterator[tuple[str, psycopg.Connection, ImportWorkers | None]]:
    """A fresh migrated database (dropped afterwards), a connection to it and the import
    workers, started (with their connections) before any clock runs."""
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(args.admin_dsn, dbname=name)
    try:
        with (
            psycopg.connect(dsn) as conn,
            ImportWorkers(dsn, args.workers) if args.workers else nullcontext() as workers,
        ):
            migrate(conn)
            conn.autocommit = False
            if workers:
                wait([workers.submit([], "warm-up", parser) for _ in range(args.workers * 4)])
            yield name, conn, workers
    finally:
        with psycopg.connect(args.admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cpu_self() -> float:
    """CPU seconds of this process and of its live children (the import workers)."""
    return sum(cpu_seconds(pid) or 0.0 for pid in [os.getpid(), *_children()])


def _children() -> list[int]:
    try:
        text = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in text.split()]


def _cpu_backends(admin_dsn: str, database: str) -> float:
    """CPU seconds of the PostgreSQL backends connected to `database` (local server)."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        pids = [
            p
            for (p,) in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
            )
        ]
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("legacy", "replayer"), default="legacy")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=500, help="replayer: rounds")
    parser.add_argument("--per-file", type=int, default=1, help="replayer: rounds a file")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="0 = import in one process")
    parser.add_argument("--gzip", action="store_true", help="import a .jsonl.gz")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.format == "replayer":
        bench_replayer(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("bench.jsonl.gz" if args.gzip else "bench.jsonl")
        t0 = time.perf_counter()
        counts = generate(path, args.events, args.seed, args.gzip)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {sum(v for k, v in counts.items() if k != 'rounds')} events "
            f"({counts}) in {time.perf_counter() - t0:.1f} s, {size_mb:.0f} MB"
        )
        with _import_database(args, "messages") as (name, conn, workers):
            cpu0, server0 = _cpu_self(), _cpu_backends(args.admin_dsn, name)
            t0 = time.perf_counter()
            stats = import_file(conn, path, batch_size=args.batch, workers=workers)
            wall = time.perf_counter() - t0
            cpu, server = _cpu_self() - cpu0, _cpu_backends(args.admin_dsn, name) - server0
            again = time.perf_counter()
            repeat = import_file(conn, path, batch_size=args.batch, workers=workers)
            wall_again = time.perf_counter() - again
    print(
        f"import: {stats.lines} events in {wall:.2f} s = {stats.lines / wall:,.0f} events/s "
        f"(batch {args.batch}, {args.workers} workers); added {stats.games} games, "
        f"{stats.ticks} ticks, "
        f"{stats.trades} trades, {stats.sidebets} sidebets, {stats.players} players; "
        f"{stats.bad_lines} bad lines"
    )
    print(
        f"CPU per event: importer {cpu / stats.lines * 1e6:.0f} us (with its workers), "
        f"PostgreSQL {server / stats.lines * 1e6:.0f} us (its backends; 0 if the server is "
        f"not local); the sum over 2 cores bounds the rate"
    )
    print(
        f"re-import of the same file: {repeat.lines / wall_again:,.0f} events/s, "
        f"added {repeat.events} events, {repeat.ticks} ticks, {repeat.trades} trades"
    )


if __name__ == "__main__":
    main()
