"""A PostgreSQL outage under traffic: each route's latency and status while the
database is up, while it is away, and after it returns, and how long the service takes
to notice the return.

The service runs with DATABASE_URL pointing at a TCP proxy (tests/support/tcp_proxy.py)
in front of the machine's PostgreSQL (a database of its own; the shared server is never
touched); the proxy is stopped (connections cut, new ones refused) and started again.
Traffic is open loop at --rate over every route, latency from each request's due time.

    python bench/db_outage.py                    # this checkout
    python bench/db_outage.py --before main      # main first, in the same run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from service_harness import (
    Service,
    load,
    open_loop,
    requests_by_capability,
    running,
    summarize,
    trees,
)

from tests.support.tcp_proxy import TcpProxy

ROUTES = ("coach", "explain", "hybrid", "knowledge", "info", "health", "stats", "jobs", "ready")


def plan() -> list[tuple[str, str, str, dict | None]]:
    reqs = requests_by_capability()
    return [(name, *reqs[name]) for name in ROUTES]


def print_phase(label: str, samples: list) -> None:  # type: ignore[type-arg]
    print(f"  {label} ({load()})")
    for route, s in summarize(samples).items():
        print(f"    {route:<10} n={s['n']:<4} status {s['statuses']}  p50 {s['p50_ms']:>8} ms"
              f"  p99 {s['p99_ms']:>8} ms  max {s['max_ms']:>8} ms")  # fmt: skip


def until(predicate, within: float) -> float | None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        try:
            if predicate():
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return None


def run(tree: Path, work: Path, args: argparse.Namespace) -> None:
    service = Service(tree=tree, shape="postgres", data_dir=work / "data", workers=1)
    with running(service):
        service.env()  # creates the service's database
        proxy = TcpProxy(("127.0.0.1", 5432))
        proxy.start()
        try:
            service.extra_env["DATABASE_URL"] = service.database_url(proxy.port)
            service.extra_env["AGENT_CHECK_CACHE_S"] = "0.5"
            service.start()
            service.wait(service.ready)
            service.wait_seeded()
            for _name, method, path, body in plan():  # fit the models, load what is lazy
                requests.request(method, service.base + path, json=body,
                                 headers=service.headers, timeout=60)  # fmt: skip
            common = {"rate": args.rate, "seconds": args.seconds}
            print_phase("PostgreSQL up", open_loop(service.base, plan(), **common))
            proxy.stop()
            print_phase("PostgreSQL away", open_loop(service.base, plan(), **common))
            proxy.start()
            back = time.perf_counter()

            def ready() -> bool:
                return requests.get(service.base + "/ready", timeout=10).status_code == 200

            def stats() -> bool:
                r = requests.get(service.base + "/v1/hybrid/stats", headers=service.headers,
                                 timeout=10)  # fmt: skip
                return r.status_code == 200

            to_ready = until(ready, 60)
            to_stats = until(stats, 60 - (time.perf_counter() - back))
            total = round(time.perf_counter() - back, 2) if to_stats is not None else None
            ready_s = round(to_ready, 2) if to_ready is not None else None
            print(f"  recovery: /ready 200 after {ready_s} s, a database route 200 after "
                  f"{total} s of PostgreSQL's return (floor 5 s)")  # fmt: skip
            print_phase("PostgreSQL back", open_loop(service.base, plan(), **common))
        finally:
            proxy.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git ref to measure first (e.g. main)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, all routes")
    parser.add_argument("--seconds", type=float, default=20.0, help="each phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agent-outage-") as tmp:
        work = Path(tmp)
        for label, tree in trees(args.before, work):
            print(f"{label}: {args.rate:g} req/s over {', '.join(ROUTES)}", flush=True)
            (work / label).mkdir(exist_ok=True)
            run(tree, work / label, args)


if __name__ == "__main__":
    main()
