"""A soak: mixed traffic at a fixed rate for a long time (30 minutes by default), with
the RSS and PSS of every process sampled over time; prints the growth, the errors and
each route's latency. Floors: < 5 % RSS growth, 0 errors.

Growth compares the mean total RSS of the last three samples with that of the three
samples taken after the first `--warmup-min` minutes (start-up, first fits and caches
filling are not a leak). Traffic is open loop over coach, hybrid/decide, knowledge
search, explain, info, health and a job's status, each request with a varied state.

    nice -n 10 python bench/soak.py                       # 30 minutes, 100 req/s
    python bench/soak.py --minutes 3 --rate 50            # a short look
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import store_rounds
from service_harness import (
    REPO,
    Sample,
    Service,
    load,
    open_loop,
    requests_by_capability,
    running,
    summarize,
)

ROUTES = ("coach", "hybrid", "knowledge", "explain", "info", "health", "jobs")


def sampler(service: Service, every_s: float, stop: threading.Event, out: list) -> None:  # type: ignore[type-arg]
    started = time.monotonic()
    while True:
        memory = service.memory()
        out.append((time.monotonic() - started, memory, load()))
        if stop.wait(every_s):
            return


def totals(memory: dict[str, tuple[int, int]]) -> tuple[float, float]:
    return (sum(m[0] for m in memory.values()) / 1024, sum(m[1] for m in memory.values()) / 1024)


def _mean_mb(samples: list, pick) -> tuple[float, float]:  # type: ignore[no-untyped-def,type-arg]
    """Mean (RSS, PSS) in MB over `samples` of the processes `pick(role)` selects."""
    picked = [[m for role, m in s[1].items() if pick(role)] for s in samples]
    return tuple(sum(sum(m[i] for m in p) for p in picked) / len(picked) / 1024 for i in (0, 1))  # type: ignore[return-value]


def report_growth(base: list, last: list) -> None:  # type: ignore[type-arg]
    """Growth per process of the service (the leak check: floor < 5 %), of the service
    as a whole, and of the embedded PostgreSQL apart: its backends' RSS counts the shared
    buffers each has touched, so it grows as the database it caches grows (judged by
    PSS, and not against the service's floor)."""
    worst = 0.0
    for role in last[-1][1]:
        if role.startswith("postgres"):
            continue
        (b, _), (a, _) = _mean_mb(base, role.__eq__), _mean_mb(last, role.__eq__)
        growth = 100 * (a - b) / b if b else 0.0
        worst = max(worst, growth)
        print(f"  {role:<10} RSS {b:7.1f} -> {a:7.1f} MB ({growth:+.2f} %)")
    service = _mean_mb(base, lambda r: not r.startswith("postgres"))
    after = _mean_mb(last, lambda r: not r.startswith("postgres"))
    print(f"  service    RSS {service[0]:7.1f} -> {after[0]:7.1f} MB, "
          f"PSS {service[1]:7.1f} -> {after[1]:7.1f} MB")  # fmt: skip
    pg, pg_after = (_mean_mb(s, lambda r: r.startswith("postgres")) for s in (base, last))
    if pg[0]:
        print(f"  postgres (embedded, all processes) RSS {pg[0]:.1f} -> {pg_after[0]:.1f} MB, "
              f"PSS {pg[1]:.1f} -> {pg_after[1]:.1f} MB")  # fmt: skip
    verdict = "meets" if worst < 5 else "MISSES"
    print(f"RSS growth of the service's processes: at most {worst:+.2f} % (floor < 5 %: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="duration of the traffic")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--shape", choices=("embedded", "production"), default="embedded")
    parser.add_argument("--sample-s", type=float, default=30.0, help="memory sampling period")
    parser.add_argument("--warmup-min", type=float, default=2.0, help="baseline taken after")
    parser.add_argument("--games", type=int, default=250, help="rounds stored before start")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agent-soak-") as tmp:
        work = Path(tmp)
        service = Service(tree=REPO, shape=args.shape, data_dir=work / "data", workers=2)
        with running(service):
            store_rounds(service, args.games, work / "rounds.jsonl")
            service.start()
            service.wait(service.ready)
            if args.shape == "embedded":
                service.wait_seeded()
            job = requests.post(service.base + "/v1/hybrid/advice", json={"mode": "classic"},
                                headers=service.headers, timeout=30).json()  # fmt: skip
            reqs = requests_by_capability()
            reqs["jobs"] = ("GET", f"/v1/jobs/{job['job_id']}", None)
            plan = [(name, *reqs[name]) for name in ROUTES]

            samples: list = []  # type: ignore[type-arg]
            stop = threading.Event()
            watcher = threading.Thread(target=sampler, args=(service, args.sample_s, stop, samples))
            watcher.start()
            errors: list[Sample] = []

            def note(sample: Sample) -> None:
                if sample.status == 0 or sample.status >= 400:
                    errors.append(sample)

            print(f"soak: {args.minutes:g} min at {args.rate:g} req/s, {args.shape} shape, "
                  f"routes {', '.join(ROUTES)} ({load()})", flush=True)  # fmt: skip
            began = time.monotonic()
            traffic = open_loop(service.base, plan, rate=args.rate, seconds=args.minutes * 60,
                                timeout=30, on_sample=note)  # fmt: skip
            took = time.monotonic() - began
            stop.set()
            watcher.join()

        print("memory over time (total RSS / PSS, MB; per process RSS):")
        for at, memory, avg in samples:
            rss, pss = totals(memory)
            per = "  ".join(f"{role} {m[0] / 1024:.0f}" for role, m in memory.items()
                            if not role.startswith("postgres."))  # fmt: skip
            print(f"  {at / 60:6.1f} min  {rss:7.1f} / {pss:7.1f}   {per}   ({avg})")
        base = [s for s in samples if s[0] >= args.warmup_min * 60][:3]
        last = samples[-3:]
        if base and last:
            report_growth(base, last)
        print(f"requests: {len(traffic)} scheduled over {args.minutes:g} min, all answered "
              f"after {took / 60:.1f} min ({len(traffic) / took:.1f}/s); errors: {len(errors)} "
              f"(floor 0: {'meets' if not errors else 'MISSES'})")  # fmt: skip
        for e in errors[:20]:
            print(f"  {e.route} at {e.scheduled:.1f} s: status {e.status}")
        for route, s in summarize(traffic).items():
            print(f"  {route:<10} n={s['n']:<7} status {s['statuses']}  p50 {s['p50_ms']} ms"
                  f"  p99 {s['p99_ms']} ms  max {s['max_ms']} ms")  # fmt: skip


if __name__ == "__main__":
    main()
