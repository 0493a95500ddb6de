"""The tournaments' sequential pair test, validated by simulation.

For each kind of paired outcome, many runs of the test as a tournament runs it (every
round from `min_rounds` on, stop at the first crossing, budget `--budget-factor` times
the fixed-size test):

- A/A runs (true effect 0): how often the pair is declared different (floor <= 5 %);
- A/B runs at the target effect h1: how often the better entrant is found (power,
  floor >= 95 %), and how often the wrong one;
- the mean rounds used against the rounds of a fixed-size two-sided test with the same
  alpha and power (floor <= 50 %).

Outcomes: Gaussian paired differences, and game outcomes: per-round PnL differences of
two random sidebet bots (p = 0.05, independent streams) on the same simulated rounds of
classic, resampled; the A/B runs shift them by h1 standard deviations.

    python bench/sprt.py [--runs 1000] [--h1 0.05]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capabilities.tournaments.entrants import build_field, play_chunk, store_loader
from capabilities.tournaments.models import TournamentSpec
from capabilities.tournaments.sprt import SprtSettings, decide_pair


def game_differences(rounds: int, seed: int, chunk: int = 10_000) -> np.ndarray:
    """Per-round PnL differences of two independent random bots on the same rounds,
    played by the tournaments' own engine."""
    bot = {"kind": "archetype", "archetype": "random", "params": {"p": 0.05}}
    spec = TournamentSpec.model_validate(
        {"mode": "classic", "seed": seed, "entrants": [bot | {"name": "a"}, bot | {"name": "b"}]}
    )
    field = build_field(spec, store_loader(None))
    parts = [play_chunk(field, first, min(chunk, rounds - first))
             for first in range(0, rounds, chunk)]  # fmt: skip
    return np.concatenate([p["a"]["pnl"] - p["b"]["pnl"] for p in parts])


def runs(draw, n_runs: int, settings: SprtSettings, budget: int) -> dict[str, float]:
    verdicts, used = [], []
    for _ in range(n_runs):
        test = decide_pair(draw(budget), settings)
        verdicts.append(test.verdict)
        used.append(test.decided_at or budget)
    v = np.array(verdicts)
    return {
        "a_better": float(np.mean(v == "a_better")),
        "b_better": float(np.mean(v == "b_better")),
        "no_difference": float(np.mean(v == "no_difference")),
        "undecided": float(np.mean(v == "undecided")),
        "mean_rounds": float(np.mean(used)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--h1", type=float, default=0.05)
    parser.add_argument("--budget-factor", type=float, default=4.0)
    parser.add_argument("--pool-rounds", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = SprtSettings(h1=args.h1)
    fixed = settings.fixed_rounds()
    budget = int(fixed * args.budget_factor)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    pool = game_differences(args.pool_rounds, seed=424242)
    pool = (pool - pool.mean()) / pool.std()  # true effect 0 exactly: an A/A pool
    low, high = settings.bounds
    print(f"load {os.getloadavg()[0]:.1f}; h0 {settings.h0}, h1 {settings.h1}, alpha "
          f"{settings.alpha} (alpha/2 a direction), beta {settings.beta}; bounds "
          f"[{low:.3f}, {high:.3f}]; fixed-size two-sided test: {fixed} rounds; budget "
          f"{budget}; {args.runs} runs each")  # fmt: skip
    sources = {
        "gaussian": lambda n, shift: rng.normal(shift, 1.0, n),
        "game (random bots, classic)": lambda n, shift: rng.choice(pool, n) + shift,
    }
    failures = []
    print(f"{'outcomes':<28} {'runs':<5} {'different':>9} {'right':>7} {'wrong':>7} "
          f"{'same':>7} {'undecided':>9} {'mean rounds':>11} {'vs fixed':>8}")  # fmt: skip
    for name, source in sources.items():
        for label, shift in (("A/A", 0.0), ("A/B h1", settings.h1), ("A/B 2*h1", 2 * settings.h1)):
            r = runs(lambda n, s=shift, f=source: f(n, s), args.runs, settings, budget)
            different = r["a_better"] + r["b_better"]
            ratio = r["mean_rounds"] / fixed
            print(f"{name:<28} {label:<8} {different:>6.1%} {r['a_better']:>7.1%} "
                  f"{r['b_better']:>7.1%} {r['no_difference']:>7.1%} {r['undecided']:>9.1%} "
                  f"{r['mean_rounds']:>11.0f} {ratio:>8.0%}")  # fmt: skip
            if label == "A/A" and different > 0.05:
                failures.append(f"{name} A/A declared different {different:.1%} > 5 %")
            if label == "A/B h1" and r["a_better"] < 0.95:
                failures.append(f"{name} power {r['a_better']:.1%} < 95 %")
            if label != "A/B 2*h1" and ratio > 0.5:
                failures.append(f"{name} {label} mean rounds {ratio:.0%} of fixed > 50 %")
    # Wald's approximations of one direction's expected rounds (no overshoot): the SPRT
    # has the least expected rounds at both hypotheses of all tests with its error rates
    a2, drift = settings.alpha / 2, (settings.h1 - settings.h0) ** 2 / 2
    asn_h1 = ((1 - settings.beta) * high + settings.beta * low) / drift
    asn_h0 = ((1 - a2) * low + a2 * high) / -drift
    print(f"Wald's approximation, one direction: {asn_h1:.0f} rounds at h1 "
          f"({asn_h1 / fixed:.0%} of fixed), {asn_h0:.0f} at h0 ({asn_h0 / fixed:.0%}); "
          f"both directions accept H0 at the earliest after {-low / drift:.0f} rounds "
          f"({-low / drift / fixed:.0%})")  # fmt: skip
    print(f"{time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}")
    print("floors: " + ("all met" if not failures else "NOT MET: " + "; ".join(failures)))


if __name__ == "__main__":
    main()
