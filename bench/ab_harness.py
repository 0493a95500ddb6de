"""A/B table of every bot in every mode on the same seeded rounds.

Per mode: each policy's mean PnL per round (SOL at 1 SOL a sidebet, true economics),
its 95 % interval, win rate, share of rounds with a bet, max drawdown; then every bot's
paired difference to the oracle with its 95 % interval, and the wall time.

    python bench/ab_harness.py [--rounds 20000] [--seed 2024] [--modes classic,...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from game.bots import archetypes  # noqa: E402
from game.harness import run_ab  # noqa: E402
from game.oracle import Oracle  # noqa: E402
from game.rules import available_modes, load_mode  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--modes", default=",".join(available_modes()))
    parser.add_argument("--no-ppo", action="store_true", help="leave out the PPO baselines")
    args = parser.parse_args()

    for mode in args.modes.split(","):
        rules = load_mode(mode)
        policies = [Oracle(rules), *archetypes(seed=args.seed)]
        if not args.no_ppo:
            from game.rl_baseline import baseline_path, load_policy

            if (baseline := baseline_path(mode)) is not None:
                policies.append(load_policy(baseline, name="ppo"))
        started = time.perf_counter()
        report = run_ab(policies, rules, n_rounds=args.rounds, seed=args.seed)
        seconds = time.perf_counter() - started
        print(f"\n== {mode}: {args.rounds} rounds, seed {args.seed}, {seconds:.1f} s")
        print(report.table())
        for policy in policies[1:]:
            pair = report.pair(policy.name, "oracle")
            print(
                f"  {policy.name:<14} - oracle: {pair.mean_diff:+.4f} "
                f"[{pair.ci95[0]:+.4f}, {pair.ci95[1]:+.4f}]  "
                f"(expected PnL {report.policies[policy.name].expected_pnl:+.4f} vs "
                f"{report.policies['oracle'].expected_pnl:+.4f})"
            )


if __name__ == "__main__":
    main()
