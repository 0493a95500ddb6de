"""Latency and throughput of `POST /v1/hybrid/decide` over loopback, decision log on.

Starts `agent-service serve` (embedded backends unless DATABASE_URL/QDRANT_URL are set)
or hits `--url`, sends decide requests at fixed rates from a second process (open loop,
latency from each request's scheduled start), and counts the decisions the log wrote.

    python bench/hybrid_decide.py --rates 200 400 800 --seconds 15
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_load import KEY, run_load, service

BODY = {
    "state": {
        "mode": "classic",
        "tick": 230,
        "price": 1.8,
        "recent_prices": [1.5, 1.6, 1.7, 1.75, 1.8],
    },
    "rl_action": 1,
    "bot_id": "bench",
    "stake": 0.05,
}


def logged(base: str, key: str) -> int:
    stats = requests.get(
        base + "/v1/hybrid/stats", params={"bot_id": "bench"},
        headers={"Authorization": f"Bearer {key}"}, timeout=30,
    ).json()  # fmt: skip
    return sum(b["decisions"] for b in stats["bots"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--key", default=KEY)
    parser.add_argument("--rates", type=float, nargs="+", default=[200.0, 400.0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with service(args.url, args.workers, args.threads) as base:
        run_load(base, "/v1/hybrid/decide", args.key, 50, 2, 4, "POST", BODY)  # warm up
        time.sleep(1.0)  # let the log flush the warm-up
        before = logged(base, args.key)
        sent = 0
        for rate in args.rates:
            r = run_load(base, "/v1/hybrid/decide", args.key, rate, args.seconds,
                         args.connections, "POST", BODY)  # fmt: skip
            sent += r["requests"]
            print(
                f"decide @ {rate:>5g}/s: {r['requests']:>6} req {r['errors']} err "
                f"{r['achieved_rps']:>7} req/s  p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  "
                f"p99 {r['p99_ms']} ms  max {r['max_ms']} ms"
            )
        time.sleep(1.0)  # the log flushes every 0.2 s
        print(f"decision log: {logged(base, args.key) - before} of {sent} decisions stored")


if __name__ == "__main__":
    main()
