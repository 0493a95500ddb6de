"""Simulator throughput on one core: vectorized ticks/s, step-path ticks/s, personas, and
the recording writer's events/s. Floor: >= 1,000,000 ticks/s on the vectorized path.

    python bench/simulator_throughput.py [--rounds 50000] [--mode classic]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's `game`
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from game.personas import make_players, simulate_players  # noqa: E402
from game.recording import RecordingOptions, write_recording  # noqa: E402
from game.rules import load_mode  # noqa: E402
from game.simulator import RoundStepper, simulate_rounds  # noqa: E402

FLOOR = 1_000_000


def vectorized(rules, n_rounds: int, chunk: int) -> tuple[float, float, int]:
    """(ticks/s of wall time, ticks/s of this process's CPU time, ticks)."""
    ticks, started, cpu = 0, time.perf_counter(), time.process_time()
    for lo in range(0, n_rounds, chunk):
        rounds = simulate_rounds(rules, min(chunk, n_rounds - lo), seed=1, first_round=lo)
        ticks += int(rounds.rug_tick.sum())
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return ticks / wall, ticks / cpu, ticks


def stepped(rules, n_rounds: int) -> float:
    ticks, started = 0, time.perf_counter()
    for i in range(n_rounds):
        stepper = RoundStepper(rules, 1, i)
        while not stepper.step().rugged:
            pass
        ticks += stepper.tick
    return ticks / (time.perf_counter() - started)


def recording(rules, n_games: int, leaderboard: int) -> tuple[float, float, float]:
    """(events/s wall, events/s of CPU time, MB/s wall) of the JSONL writer."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "bench.jsonl"
        started, cpu = time.perf_counter(), time.process_time()
        summary = write_recording(
            rules, n_games, 1, out, options=RecordingOptions(leaderboard_size=leaderboard)
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        return summary.events / wall, summary.events / cpu, out.stat().st_size / wall / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--mode", default="classic")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rules = load_mode(args.mode)
    simulate_rounds(rules, 100, seed=0)  # warm-up

    rate, cpu_rate, ticks = vectorized(rules, args.rounds, args.chunk)
    verdict = "ok" if rate >= FLOOR else "BELOW FLOOR"
    print(f"vectorized: {rate:,.0f} ticks/s wall, {cpu_rate:,.0f} ticks/s of CPU time "
          f"({args.rounds:,} rounds, {ticks:,} ticks, chunks of {args.chunk:,}; "
          f"floor {FLOOR:,} wall: {verdict})")  # fmt: skip
    print(f"step path:  {stepped(rules, 300):,.0f} ticks/s (300 rounds)")

    rounds = simulate_rounds(rules, 1_000, seed=2)
    players = make_players(20, seed=2)
    started = time.perf_counter()
    activity = simulate_players(rules, rounds, players)
    print(f"personas:   1,000 rounds x 20 players in {time.perf_counter() - started:.2f} s "
          f"({len(activity.trades):,} trades, {len(activity.sidebets):,} sidebets)")  # fmt: skip

    for board in (10, 0):
        events, cpu_events, mb = recording(rules, 100, board)
        print(f"recording:  {events:,.0f} events/s wall ({cpu_events:,.0f} of CPU time), "
              f"{mb:.1f} MB/s "
              f"(100 games, 20 players, leaderboard {board})")  # fmt: skip


if __name__ == "__main__":
    main()
