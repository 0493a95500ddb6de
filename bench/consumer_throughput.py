"""Consumer throughput, RabbitMQ -> PostgreSQL, end to end.

Fills a temporary queue with N realistic protocol messages (rounds of `gameStateUpdate`
with a 10-player leaderboard, trades, the rug update; round lengths geometric with the
v3 rug probability), then runs the consumer with the real `ingest_batch` against a fresh
database until the queue is drained, and prints events/s from the consumer's start to
its last commit. The queue, its dead-letter exchange/queue and the database are removed
afterwards.

    python bench/consumer_throughput.py --messages 100000
    python bench/consumer_throughput.py --messages 20000 --batch-size 1000 --prefetch 2000
    python bench/consumer_throughput.py --messages 30000 --compare 2   # counters on/off
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.proc_cpu import cpu_seconds  # noqa: E402
from tests.conftest import create_database, drop_database  # noqa: E402
from tests.support.amqp import Topology  # noqa: E402
from tests.support.protocol_stream import stored_counts, stream  # noqa: E402
from tools import ingest_sql  # noqa: E402
from tools.consumer import Consumer, ConsumerConfig  # noqa: E402
from tools.migrations import migrate  # noqa: E402


def realistic_stream(n: int, leaderboard: int, seed: int) -> list[dict]:
    """At least n messages from rounds whose lengths follow the v3 rug hazard."""
    rng = random.Random(seed)
    rug_ticks = []
    estimate = 0
    while estimate < n:
        rug = 1
        while rng.random() >= 0.005 and rug < 5000:
            rug += 1
        rug_ticks.append(rug)
        estimate += rug + rug // 5 + 1
    messages, _ = stream(len(rug_ticks), rug_ticks, leaderboard=leaderboard, seed=seed)
    return messages[:n]


class BackendCpu(threading.Thread):
    """Samples the CPU time of the consumer's PostgreSQL backend (same host only, via
    /proc), which the consumer's own process time leaves out."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.seconds: float | None = None
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.done.wait(0.2):
                row = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'agent-service-consumer'"
                ).fetchone()
                seconds = None if row is None else cpu_seconds(row[0])
                if seconds is not None:
                    self.seconds = seconds


def run(args: argparse.Namespace, messages: list[dict], live: bool) -> None:
    """One drain of a fresh queue into a fresh database; `live` False leaves out the
    opponent counters' update (the baseline of its cost)."""
    original = ingest_sql.add_trades
    if not live:
        ingest_sql.add_trades = lambda conn, rows: None
    try:
        topology = Topology(args.amqp_url, prefix="bench").declare()
        dsn = create_database(args.admin_dsn)
        try:
            with psycopg.connect(dsn) as conn:
                migrate(conn)
            started = time.perf_counter()
            topology.publish(*messages)
            topology.wait_depth(len(messages), within=120)
            published = time.perf_counter() - started
            size = sum(len(json.dumps(m)) for m in messages[:1000]) / min(1000, len(messages))
            print(
                f"published {len(messages):,} messages (~{size / 1024:.1f} KiB each) "
                f"in {published:.1f} s ({len(messages) / published:,.0f}/s, no confirms)"
            )

            config = ConsumerConfig(
                amqp_url=args.amqp_url,
                database_url=dsn,
                queue=topology.queue,
                dead_letter_exchange=topology.dead_letter_exchange,
                dead_letter_queue=topology.dead_letter_queue,
                batch_size=args.batch_size,
                prefetch=args.prefetch,
                idle_exit_s=1.0,
                progress_every=10**9,
            )
            consumer = Consumer(config)
            backend = BackendCpu(dsn)
            backend.start()
            cpu_before = time.process_time()
            start = time.monotonic()
            consumer.stats.started = start
            stats = consumer.run()
            elapsed = (stats.last_commit or time.monotonic()) - start
            cpu = time.process_time() - cpu_before
            backend.done.set()
            backend.join()
            counts = stored_counts(dsn)
            print(
                f"consumer: {stats.received:,} events in {elapsed:.2f} s = "
                f"{stats.received / elapsed:,.0f} events/s committed "
                f"(batch {args.batch_size}, prefetch {args.prefetch}, {stats.batches} batches, "
                f"{stats.dead_lettered} dead-lettered)"
            )
            per_event = 1e6 / max(stats.received, 1)
            pg = (
                f"{backend.seconds:.1f} s ({backend.seconds * per_event:.0f} µs/event)"
                if backend.seconds is not None
                else "not measured (server on another host?)"
            )
            print(
                f"CPU: consumer process {cpu:.1f} s ({cpu * per_event:.0f} µs/event), "
                f"its PostgreSQL backend {pg}; load average now "
                + " ".join(f"{x:.1f}" for x in os.getloadavg())
            )
            print("rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
            if counts["websocket_events"] != len(messages) or topology.depth() != 0:
                sys.exit("MISMATCH: not every message was stored exactly once")
        finally:
            topology.close()
            drop_database(args.admin_dsn, dsn)
    finally:
        ingest_sql.add_trades = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--prefetch", type=int, default=1000)
    parser.add_argument("--leaderboard", type=int, default=10, help="players per update")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--compare",
        type=int,
        default=0,
        metavar="N",
        help="N alternating runs with the opponent live counters on and off",
    )
    parser.add_argument(
        "--amqp-url", default=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    )
    parser.add_argument(
        "--admin-dsn",
        default=os.environ.get(
            "AGENT_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where a throwaway database may be created",
    )
    args = parser.parse_args()

    messages = realistic_stream(args.messages, args.leaderboard, args.seed)
    for live in [True, False] * args.compare if args.compare else [True]:
        print(f"-- opponent live counters {'on' if live else 'off'}")
        run(args, messages, live)


if __name__ == "__main__":
    main()
