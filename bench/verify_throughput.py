"""Provably-fair replay throughput on one core: the pure-Python reference, the numba bulk
kernel, and `verify_records` end to end (replay + comparison with recorded prices) on
each path; ratios against the reference measured in the same run, the load average with
every figure. Floor: >= 1,000,000 ticks/s on the bulk path.

    python bench/verify_throughput.py [--rounds 20000] [--python-rounds 400] [--repeats 5]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's `game`

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable

from game.fairness.engine import replay
from game.fairness.records import RoundRecord
from game.fairness.verify import verify_records

FLOOR = 1_000_000
_T975 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36, 9: 2.31, 10: 2.26}


def rounds(n: int, salt: str) -> tuple[list[str], list[str]]:
    """Real-looking seeds (64 hex) and ids (`YYYYMMDD-<16 hex>`)."""
    seeds = [hashlib.sha256(f"{salt}:seed:{i}".encode()).hexdigest() for i in range(n)]
    ids = [f"20260101-{hashlib.sha256(f'{salt}:id:{i}'.encode()).hexdigest()[:16]}"
           for i in range(n)]  # fmt: skip
    return seeds, ids


def measure(run: Callable[[], int], repeats: int) -> tuple[float, float, list[float]]:
    """(mean ticks/s, half-width of its 95 % interval, loads) over `repeats` runs."""
    rates, loads = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        ticks = run()
        rates.append(ticks / (time.perf_counter() - started))
        loads.append(os.getloadavg()[0])
    mean = statistics.fmean(rates)
    half = _T975.get(repeats, 2.0) * statistics.stdev(rates) / repeats**0.5 if repeats > 1 else 0
    return mean, half, loads


def show(name: str, figure: tuple[float, float, list[float]], base: float | None = None) -> None:
    mean, half, loads = figure
    ratio = f", {mean / base:,.1f}x the reference" if base else ""
    print(f"{name:<34} {mean:>12,.0f} ± {half:>9,.0f} ticks/s (95 % CI){ratio}; "
          f"load {min(loads):.2f}-{max(loads):.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000, help="rounds per bulk run")
    parser.add_argument("--python-rounds", type=int, default=400, help="rounds per Python run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"(2 cores shared; one core used here)")  # fmt: skip

    started = time.perf_counter()
    from game.fairness.fast import replay_batch

    replay_batch(*rounds(2, "warm"), ["v3", "v3"])
    print(f"numba import + kernel load (cached) or compile: {time.perf_counter() - started:.2f} s")

    py_seeds, py_ids = rounds(args.python_rounds, "python")
    seeds, ids = rounds(args.rounds, "bulk")
    reference = measure(
        lambda: sum(replay(s, g).rug_tick for s, g in zip(py_seeds, py_ids, strict=True)),
        args.repeats,
    )
    bulk = measure(lambda: replay_batch(seeds, ids, ["v3"] * len(seeds)).ticks, args.repeats)

    # recorded rounds as a reader would hand them over (prices as floats)
    batch = replay_batch(seeds, ids, ["v3"] * len(seeds))
    records = [
        RoundRecord(g, s, hashlib.sha256(s.encode()).hexdigest(), "v3",
                    batch.prices_of(i).tolist(), int(batch.rug_ticks[i]))
        for i, (s, g) in enumerate(zip(seeds, ids, strict=True))
    ]  # fmt: skip
    py_records = records[: args.python_rounds]

    def verify(engine: str, subset: list[RoundRecord]) -> Callable[[], int]:
        def run() -> int:
            verdicts = verify_records(subset, engine=engine)  # type: ignore[arg-type]
            assert all(v.ok for v in verdicts)
            return sum(v.rug_tick or 0 for v in verdicts)

        return run

    py_verify = measure(verify("python", py_records), args.repeats)
    bulk_verify = measure(verify("numba", records), args.repeats)

    base = reference[0]
    show("reference replay (pure Python)", reference)
    show("bulk replay (numba kernel)", bulk, base)
    show("verify_records, pure Python", py_verify, base)
    show("verify_records, numba", bulk_verify, base)
    verdict = "met" if bulk_verify[0] - bulk_verify[1] >= FLOOR else "NOT met"
    print(f"floor {FLOOR:,} ticks/s on the bulk verify path (lower 95 % bound): {verdict}")
    print(f"({args.rounds:,} rounds, {batch.ticks:,} ticks per bulk run; "
          f"{args.python_rounds:,} rounds per Python run; {args.repeats} repeats)")  # fmt: skip
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
