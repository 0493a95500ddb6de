"""Reward A/B: PPO under the bot's reward vs the review's proposal, scored on money.

For each mode (default rising_hazard, then classic) the exact review
(`capabilities.rewards.service.review`) gives both rewards' optima; then the `rewards.ab`
job's own code (`run_ab`) trains PPO under the original reward (the bot's: win +4, loss
-1, skip penalties -0.5/-0.75, at its gamma 0.99) and under the proposal (the bet's
expected profit paid when placed, potential-shaped, at the proposal's gamma), with the
same seeds, budget and PPO settings, and scores every run on the same held-out rounds:
PnL per round, win rate of placed bets, bets per round (with the expected PnL given the
bet ticks, which removes the outcome noise). Intervals: 95 % t over the 5 seeds, and
paired (proposed - original per seed) for the differences.

The seed's bar is "+15 % win rate". In classic the hazard is constant: every bet wins
18.2 % whatever its tick, so no reward can raise the win rate of placed bets; the bench
prints what is true.

    nice -n 10 python bench/reward_ab.py [--modes rising_hazard classic] [--seeds 5]
        [--steps 60000] [--batch 512] [--eval-rounds 2000] [--normalize]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capabilities.rewards.jobs import ab_payload, run_ab  # noqa: E402
from capabilities.rewards.models import ABSettings, ReviewRequest, RewardReview  # noqa: E402
from capabilities.rewards.service import review  # noqa: E402


def fmt(i: dict, unit: str = "") -> str:
    """A mean and its interval; win rates in % (their differences in percentage points)."""
    if i["mean"] is None:
        return "n/a (no bets)"
    scale = 100.0 if unit else 1.0
    lo = "?" if i["low"] is None else f"{i['low'] * scale:+.4f}"
    hi = "?" if i["high"] is None else f"{i['high'] * scale:+.4f}"
    return f"{i['mean'] * scale:+.4f}{unit} [{lo}, {hi}] (n={i['n']})"


def bench(mode: str, args: argparse.Namespace) -> None:
    settings = ABSettings(
        seeds=args.seeds,
        steps=args.steps,
        n_envs=16,
        eval_rounds=args.eval_rounds,
        ppo={"batch_size": args.batch, "normalize_observations": args.normalize},
    )
    request = ReviewRequest(mode=mode, ab=settings)
    payload = ab_payload(request, RewardReview.model_validate(review(request)))
    print(f"\n== {mode}: {args.seeds} seeds x 2 arms, {args.steps} env steps each, batch "
          f"{args.batch}, normalized observations {args.normalize}, {args.eval_rounds} "
          f"held-out rounds, gammas {payload['gammas']}; "
          f"load {os.getloadavg()}")  # fmt: skip
    for name, e in payload["exact"].items():
        print(f"  exact {name:12s}: {e['description']}; PnL/round {e['pnl_per_round']:+.4f}")
    began = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        if "trained" in message:
            print(f"    {message} ({time.perf_counter() - began:.0f} s)", flush=True)

    result = run_ab(payload, progress).model_dump(mode="json")
    print(f"  trained in {time.perf_counter() - began:.0f} s, load after {os.getloadavg()}")
    for r in result["runs"]:
        win = "n/a" if r["win_rate"] is None else f"{r['win_rate']:.3f}"
        print(f"    {r['arm']:8s} seed {r['seed']:5d}: PnL/round {r['pnl_per_round']:+.4f} "
              f"(expected {r['expected_pnl_per_round']:+.4f}), win rate {win}, "
              f"bets/round {r['bets_per_round']:.3f}")  # fmt: skip
    for c in result["comparisons"]:
        pct = c["metric"] == "win_rate"
        print(f"  {c['metric']:24s} original {fmt(c['original'], ' %' if pct else '')}")
        print(f"  {'':24s} proposed {fmt(c['proposed'], ' %' if pct else '')}")
        print(f"  {'':24s} paired proposed - original "
              f"{fmt(c['difference'], ' pp' if pct else '')}")  # fmt: skip
    win = next(c for c in result["comparisons"] if c["metric"] == "win_rate")
    o, p = win["original"]["mean"], win["proposed"]["mean"]
    if o and p is not None:
        print(f"  win rate of placed bets, proposed / original - 1: {p / o - 1:+.1%} "
              "(the seed's bar: +15 %)")  # fmt: skip
    else:
        print("  win rate of placed bets: one arm placed no bets (nothing to compare)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["rising_hazard", "classic"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--eval-rounds", type=int, default=2000)
    parser.add_argument(
        "--normalize",
        action="store_true",
        help="VecNormalize observations in both arms (the bot's script does)",
    )
    args = parser.parse_args()
    for mode in args.modes:
        bench(mode, args)


if __name__ == "__main__":
    main()
