"""The first requests after a restart: p50/p99/max of the first 10 requests of each
capability, sent once `/ready` says 200, and how long start-up took to `/health` and to
`/ready`.

A first run stores simulated rounds and seeds the knowledge base, then the service is
stopped and started again (a restart, as after a deploy): nothing is in memory, all is
on disk. Requests go one at a time, the capabilities interleaved (coach, hybrid,
knowledge, explain, coach, ...), each with a new tick so no answer cache serves it.

    python bench/cold_start.py                   # this checkout, embedded shape
    python bench/cold_start.py --before main --shape production
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import store_rounds
from service_harness import (
    CAPABILITIES,
    Service,
    load,
    percentile,
    requests_by_capability,
    running,
    seed_mirror,
    trees,
    varied,
)

FLOOR_MS = 300


def first_requests(service: Service, n: int) -> dict[str, list[float]]:
    reqs = requests_by_capability()
    took: dict[str, list[float]] = {name: [] for name in CAPABILITIES}
    session = requests.Session()
    session.headers.update(service.headers)
    for i in range(n):
        for name in CAPABILITIES:
            method, path, body = reqs[name]
            started = time.perf_counter()
            r = session.request(method, service.base + path, json=varied(name, body, 1000 + i),
                                timeout=60)  # fmt: skip
            took[name].append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                print(f"    {name} #{i + 1}: {r.status_code} {r.text[:200]}")
    return took


def run(tree: Path, shape: str, work: Path, args: argparse.Namespace) -> None:
    service = Service(tree=tree, shape=shape, data_dir=work / f"data-{shape}", workers=2)
    if shape == "production":
        service.extra_env["AGENT_KNOWLEDGE_MIRROR_DIR"] = str(seed_mirror(tree, work))
    with running(service):
        store_rounds(service, args.games, work.parent / "rounds.jsonl")
        service.start()  # first start: seeds the knowledge base, migrates
        service.wait(service.ready)
        if shape == "embedded":
            service.wait_seeded()
        service.stop()
        for attempt in range(args.repeat):
            to_health = service.start()
            to_ready = to_health + service.wait(service.ready)
            took = first_requests(service, args.first)
            print(f"  restart {attempt + 1}: /health after {to_health:.2f} s, /ready 200 after "
                  f"{to_ready:.2f} s ({load()})")  # fmt: skip
            for name, values in took.items():
                p99 = percentile(values, 99)
                verdict = "meets" if p99 <= FLOOR_MS else "MISSES"
                print(f"    {name:<10} first {args.first}: p50 {percentile(values, 50):7.1f} ms"
                      f"  p99 {p99:7.1f} ms  max {max(values):7.1f} ms  first {values[0]:7.1f} ms"
                      f"  (floor p99 <= {FLOOR_MS} ms: {verdict})")  # fmt: skip
            service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git ref to measure first (e.g. main)")
    parser.add_argument("--shape", choices=("embedded", "production"), default="embedded")
    parser.add_argument("--games", type=int, default=250, help="rounds stored before start")
    parser.add_argument("--first", type=int, default=10, help="requests per capability")
    parser.add_argument("--repeat", type=int, default=2, help="restarts measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agent-cold-") as tmp:
        work = Path(tmp)
        for label, tree in trees(args.before, work):
            print(f"{label}, {args.shape} shape:", flush=True)
            run_dir = work / label.replace(" ", "-")
            run_dir.mkdir()
            run(tree, args.shape, run_dir, args)


if __name__ == "__main__":
    main()
