"""RSS and PSS of every process of a running service, idle and after load, in both
shapes (bench/service_harness.py), for this checkout and optionally for another ref.

Per process: RSS (what `ps` shows; pages shared between processes count in each) and
PSS (each shared page divided among its sharers: the sum is what the service really
takes). Idle is measured once `/ready` holds and the knowledge base is seeded; "after
load" after `bench/http_load.py`'s traffic (/health and /v1/info) and then a mix of the
capabilities (coach, hybrid, knowledge search, explain) over stored rounds.

    python bench/memory.py                       # this checkout, both shapes
    python bench/memory.py --before main         # main too, in the same run
    python bench/memory.py --shape production --seconds 20
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_load import run_load
from service_harness import (
    CAPABILITIES,
    KEY,
    Service,
    load,
    requests_by_capability,
    running,
    seed_mirror,
    trees,
    varied,
)

FLOORS_MB = {"embedded": 600, "production": 500}


def store_rounds(service: Service, games: int, recording: Path) -> None:
    """Simulated rounds imported through the CLI, so the models are fitted, not rules."""
    if not recording.exists():
        service.cli("simulate", "--games", str(games), "--mode", "classic", "--seed", "3",
                    "--out", str(recording))  # fmt: skip
    service.cli("import", str(recording), "--mode", "classic")


def mixed_load(service: Service, seconds: float, rate: float) -> dict[str, int]:
    """Capability requests at `rate` per second over 4 connections; status counts."""
    reqs = requests_by_capability()
    names = list(CAPABILITIES)
    counts: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    counter = itertools.count()

    def worker() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {KEY}"
        while (now := time.monotonic()) < stop:
            i = next(counter)
            name = names[i % len(names)]
            method, path, body = reqs[name]
            try:
                r = session.request(method, service.base + path,
                                    json=varied(name, body, i % 500), timeout=30)  # fmt: skip
                key = f"{name}:{r.status_code}"
            except requests.RequestException as exc:
                key = f"{name}:{type(exc).__name__}"
            with lock:
                counts[key] = counts.get(key, 0) + 1
            time.sleep(max(0.0, 4 / rate - (time.monotonic() - now)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def report(label: str, memory: dict[str, tuple[int, int]], floor: int) -> None:
    rss = sum(r for r, _ in memory.values()) / 1024
    pss = sum(p for _, p in memory.values()) / 1024
    print(f"  {label} ({load()})")
    for role, (r, p) in memory.items():
        if role.startswith("postgres."):
            continue
        print(f"    {role:<10} RSS {r / 1024:7.1f} MB  PSS {p / 1024:7.1f} MB")
    backends = [m for role, m in memory.items() if role.startswith("postgres.")]
    if backends:
        rss_b, pss_b = (sum(m[i] for m in backends) / 1024 for i in (0, 1))
        print(f"    postgres backends x{len(backends)}: RSS {rss_b:.1f} MB  PSS {pss_b:.1f} MB")
    verdict = "meets" if rss <= floor else "MISSES"
    print(f"    total      RSS {rss:7.1f} MB  PSS {pss:7.1f} MB   "
          f"(floor {floor} MB RSS: {verdict})")  # fmt: skip


def measure(tree: Path, shape: str, work: Path, args: argparse.Namespace) -> None:
    data = work / f"data-{shape}"
    service = Service(tree=tree, shape=shape, data_dir=data, workers=2)
    if shape == "production":
        service.extra_env["AGENT_KNOWLEDGE_MIRROR_DIR"] = str(seed_mirror(tree, work))
    with running(service):
        store_rounds(service, args.games, work.parent / "rounds.jsonl")
        service.start()
        service.wait(service.ready)
        if shape == "embedded":
            service.wait_seeded()
        time.sleep(args.settle)
        report("idle", service.memory(), FLOORS_MB[shape])
        for path in ("/health", "/v1/info"):
            run_load(service.base, path, KEY, args.rate, args.seconds, 8)
        report(f"after http_load ({args.seconds:g} s at {args.rate:g}/s on /health, /v1/info)",
               service.memory(), FLOORS_MB[shape])  # fmt: skip
        counts = mixed_load(service, args.seconds, args.mixed_rate)
        report(f"after mixed load ({args.seconds:g} s at {args.mixed_rate:g}/s: {counts})",
               service.memory(), FLOORS_MB[shape])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git ref to measure first (e.g. main)")
    parser.add_argument("--shape", choices=("embedded", "production", "both"), default="both")
    parser.add_argument("--games", type=int, default=250, help="rounds stored before start")
    parser.add_argument("--seconds", type=float, default=15.0, help="each load phase")
    parser.add_argument("--rate", type=float, default=200.0, help="http_load rate")
    parser.add_argument("--mixed-rate", type=float, default=20.0, help="capability rate")
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before")
    args = parser.parse_args()
    shapes = ["embedded", "production"] if args.shape == "both" else [args.shape]
    with tempfile.TemporaryDirectory(prefix="agent-memory-") as tmp:
        work = Path(tmp)
        for label, tree in trees(args.before, work):
            for shape in shapes:
                print(f"{label}, {shape} shape:", flush=True)
                run = work / label.replace(" ", "-")
                run.mkdir(exist_ok=True)
                measure(tree, shape, run, args)


if __name__ == "__main__":
    main()
