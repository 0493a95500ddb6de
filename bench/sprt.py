"""The tournaments' sequential pair test, validated by simulation.

The design (capabilities/tournaments/sprt.py): per pair, two one-sided GSPRTs in
fishtest's normalized form (the LLR of effect h1 against h0 in standard deviations of
the paired difference, the variance estimated from the data), "a better than b by h1?"
and "b better than a by h1?", each at alpha/2; the pair stops when a direction accepts
its H1, or when both have accepted H0 ("no difference", what an A/A pair must get).

It is compared with the fixed-size test of the same hypotheses and error rates: per
direction a one-sided z-test at alpha/2 with power 1 - beta at h1 (together the
two-sided test at alpha), n = ((z(1 - alpha/2) + z(1 - beta)) / (h1 - h0))^2. For each
kind of paired outcome, many runs of the test as a tournament runs it (checked every
round from `min_rounds` on, stopped at the first crossing, budget `--budget-factor`
times the fixed test):

- A/A runs (true effect 0): how often the pair is declared different (floor <= 5 %);
- A/B runs at the target effect h1: how often the better entrant is found (power,
  floor >= 95 %);
- mean rounds against the fixed test, averaged over the A/A and A/B runs (floor
  <= 50 %); also at h1/2, the midpoint, where a sequential test is at its worst, and at
  2 h1. Wald's lower bound for ANY sequential test with these error rates is printed
  beside: with alpha = beta = 0.05 it is 50.9 % of the fixed test at h1 and 43.2 % at
  h0, so the floor can only be met on the average, and only if A/A pairs stop near
  their bound (the two directions' "no difference" takes the later of two stops).

Outcomes: Gaussian paired differences, and game outcomes: the per-round PnL
differences of two random sidebet bots (p = 0.05, independent streams) on the same
simulated rounds of classic (values -5..5 SOL, ~95 % zeros: sidebets pay +4 / -1 per
unit), resampled and standardised; the A/B runs shift them by h1 standard deviations,
which keeps their tails. Then A/A tournaments as the service plays them (the random
bot twice, each with its own stream, on the real rounds of one seed per run, classic
and rising_hazard): how often the pair is declared different. Intervals: Wilson for
rates, t for mean rounds (95 %).

    python bench/sprt.py [--runs 1000] [--h1 0.05] [--alpha 0.05] [--beta 0.05]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capabilities.tournaments.entrants import build_field, play_chunk, store_loader
from capabilities.tournaments.models import TournamentSpec
from capabilities.tournaments.sprt import SprtSettings, decide_pair
from game.evaluation import Estimate

Draw = Callable[[int], np.ndarray]


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


def tournament_aa(mode: str, n_runs: int, settings: SprtSettings, budget: int) -> np.ndarray:
    """Verdicts of A/A pairs as a tournament plays them, not resampled: the random
    sidebet bot twice (a random stream each) on the rounds of seeds 0..n_runs-1."""
    from capabilities.tournaments.service import play_here

    bot = {"kind": "archetype", "archetype": "random"}
    sprt = {k: getattr(settings, k) for k in ("h0", "h1", "alpha", "beta", "min_rounds")}
    verdicts = []
    for seed in range(n_runs):
        spec = TournamentSpec.model_validate(
            {"mode": mode, "seed": seed, "max_rounds": budget, "chunk_rounds": 2_500,
             "sprt": sprt, "entrants": [bot | {"name": "coin"}, bot | {"name": "coin_again"}]}
        )  # fmt: skip
        verdicts.append(play_here(spec, store_loader(None)).pairs[0].verdict)
    return np.array(verdicts)


def runs(
    draw: Draw, n_runs: int, settings: SprtSettings, budget: int
) -> tuple[np.ndarray, np.ndarray]:
    """(verdicts, rounds used) of `n_runs` pair tests on fresh draws."""
    verdicts, used = [], []
    for _ in range(n_runs):
        test = decide_pair(draw(budget), settings)
        verdicts.append(test.verdict)
        used.append(test.decided_at or budget)
    return np.array(verdicts), np.array(used, dtype=np.float64)


def _rate(e: Estimate | None) -> str:
    assert e is not None
    return f"{e.mean:6.1%} [{e.low:5.1%}, {e.high:5.1%}]"


def _ratio(e: Estimate, fixed: int) -> str:
    return f"{e.mean / fixed:5.1%} [{e.low / fixed:5.1%}, {e.high / fixed:5.1%}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs per outcome and effect")
    parser.add_argument("--h1", type=float, default=0.05)
    parser.add_argument("--alpha", type=float, default=0.05, help="A/A declared different")
    parser.add_argument("--beta", type=float, default=0.05, help="1 - power at h1")
    parser.add_argument("--budget-factor", type=float, default=4.0)
    parser.add_argument("--pool-rounds", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tournament-runs", type=int, default=200, help="A/A tournaments per mode (0: none)"
    )
    args = parser.parse_args()
    settings = SprtSettings(h1=args.h1, alpha=args.alpha, beta=args.beta)
    fixed = settings.fixed_rounds()
    budget = int(fixed * args.budget_factor)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    pool = game_differences(args.pool_rounds, seed=424242)
    zeros, kurtosis = float(np.mean(pool == 0)), float(stats.kurtosis(pool))
    pool = (pool - pool.mean()) / pool.std()  # true effect 0 exactly: an A/A pool
    low, high = settings.bounds
    least_h0, least_h1 = settings.least_rounds()
    print(f"load {os.getloadavg()[0]:.1f}; h0 {settings.h0}, h1 {settings.h1}, alpha "
          f"{settings.alpha} (alpha/2 a direction), beta {settings.beta}, min_rounds "
          f"{settings.min_rounds}; bounds [{low:.3f}, {high:.3f}]; fixed-size test: {fixed} "
          f"rounds; budget {budget}; {args.runs} runs per row")  # fmt: skip
    print(f"game outcomes: {args.pool_rounds} paired rounds, {zeros:.1%} zero, excess "
          f"kurtosis {kurtosis:.1f}")  # fmt: skip
    print(f"Wald's lower bound, any sequential test with these error rates (one direction):"
          f" {least_h0:.0f} rounds at h0 ({least_h0 / fixed:.1%} of fixed), {least_h1:.0f} at "
          f"h1 ({least_h1 / fixed:.1%})")  # fmt: skip
    sources: dict[str, Callable[[int, float], np.ndarray]] = {
        "gaussian": lambda n, shift: rng.normal(shift, 1.0, n),
        "game": lambda n, shift: rng.choice(pool, n) + shift,
    }
    effects = (("A/A", 0.0), ("A/B h1", settings.h1), ("mid h1/2", settings.h1 / 2),
               ("A/B 2*h1", 2 * settings.h1))  # fmt: skip
    failures = []
    print(f"{'outcomes':<9} {'effect':<9} {'declared different':>22} {'right one':>22} "
          f"{'mean rounds':>22} {'vs fixed':>22}")  # fmt: skip
    for name, source in sources.items():
        used_by: dict[str, np.ndarray] = {}
        for label, shift in effects:
            verdicts, used = runs(lambda n, s=shift, f=source: f(n, s), args.runs, settings,
                                  budget)  # fmt: skip
            used_by[label] = used
            different = Estimate.proportion(int(np.isin(verdicts, ["a_better", "b_better"]).sum()),
                                            len(verdicts))  # fmt: skip
            right = Estimate.proportion(int((verdicts == "a_better").sum()), len(verdicts))
            rounds = Estimate.of(used)
            undecided = float(np.mean(verdicts == "undecided"))
            cut = f"  ({undecided:.1%} undecided at the budget)" if undecided else ""
            print(f"{name:<9} {label:<9} {_rate(different):>22} "
                  f"{_rate(right) if shift else '':>22} {rounds.mean:>8.0f} "
                  f"[{rounds.low:.0f}, {rounds.high:.0f}] {_ratio(rounds, fixed):>22}"
                  + cut)  # fmt: skip
            assert different is not None and right is not None
            if label == "A/A" and different.mean > 0.05:
                failures.append(f"{name} A/A declared different {different.mean:.1%} > 5 %")
            if label == "A/B h1" and right.mean < 0.95:
                failures.append(f"{name} power {right.mean:.1%} < 95 %")
        both = Estimate.of(np.concatenate([used_by["A/A"], used_by["A/B h1"]]))
        print(f"{name:<9} {'A/A+A/B':<9} {'':>22} {'':>22} {both.mean:>8.0f} "
              f"[{both.low:.0f}, {both.high:.0f}] {_ratio(both, fixed):>22}")  # fmt: skip
        if both.mean / fixed > 0.5:
            failures.append(f"{name} mean rounds over A/A and A/B {both.mean / fixed:.1%} "
                            "of fixed > 50 %")  # fmt: skip
    for mode in ("classic", "rising_hazard") if args.tournament_runs else ():
        verdicts = tournament_aa(mode, args.tournament_runs, settings, budget)
        n_different = int(np.isin(verdicts, ["a_better", "b_better"]).sum())
        different = Estimate.proportion(n_different, len(verdicts))
        print(f"A/A tournaments, random bot twice, {mode}, seeds 0..{len(verdicts) - 1}: "
              f"declared different {_rate(different)}, undecided "
              f"{np.mean(verdicts == 'undecided'):.1%}")  # fmt: skip
        assert different is not None
        if different.mean > 0.05:
            failures.append(f"{mode} A/A tournaments declared different {different.mean:.1%}")
    print(f"{time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}")
    print("floors: " + ("all met" if not failures else "NOT MET: " + "; ".join(failures)))


if __name__ == "__main__":
    main()
