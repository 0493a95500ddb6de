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
            traffic = open_loop(service.base, plan, rate=args.rate, seconds=args.minutes * 60,
                                timeout=30, on_sample=note)  # fmt: skip
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
            before = sum(totals(s[1])[0] for s in base) / len(base)
            after = sum(totals(s[1])[0] for s in last) / len(last)
            growth = 100 * (after - before) / before
            verdict = "meets" if growth < 5 else "MISSES"
            print(f"RSS growth: {before:.1f} -> {after:.1f} MB = {growth:+.2f} % "
                  f"(floor < 5 %: {verdict})")  # fmt: skip
            for role in last[-1][1]:
                if role.startswith("postgres."):
                    continue
                b = sum(s[1].get(role, (0, 0))[0] for s in base) / len(base) / 1024
                a = sum(s[1].get(role, (0, 0))[0] for s in last) / len(last) / 1024
                print(
                    f"  {role:<10} {b:7.1f} -> {a:7.1f} MB ({100 * (a - b) / b if b else 0:+.2f} %)"
                )
        print(f"requests: {len(traffic)} in {args.minutes:g} min "
              f"({len(traffic) / (args.minutes * 60):.1f}/s); errors: {len(errors)} "
              f"(floor 0: {'meets' if not errors else 'MISSES'})")  # fmt: skip
        for e in errors[:20]:
            print(f"  {e.route} at {e.scheduled:.1f} s: status {e.status}")
        for route, s in summarize(traffic).items():
            print(f"  {route:<10} n={s['n']:<7} status {s['statuses']}  p50 {s['p50_ms']} ms"
                  f"  p99 {s['p99_ms']} ms  max {s['max_ms']} ms")  # fmt: skip


if __name__ == "__main__":
    main()
