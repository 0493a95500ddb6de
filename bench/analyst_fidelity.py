"""How well the Game Analyst's surrogate stands in for the PPO baseline.

Logs the baseline's decisions on simulated rounds (every tick from 200, where the
sidebet env lets it bet, until the round ends), fits the surrogate on the older 70 %,
and prints its agreement with the bot on the newer 30 % (against always playing the
commonest action), then the share of counterfactuals that flip the real bot's action
when applied to it.

    python bench/analyst_fidelity.py [--mode classic] [--rounds 3000] [--checks 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capabilities.analyst.explain import FROZEN  # noqa: E402
from capabilities.analyst.fit import simulated_decisions  # noqa: E402
from capabilities.analyst.surrogate import counterfactual, fit_surrogate  # noqa: E402
from game.observation import FEATURES  # noqa: E402
from game.rl_baseline import baseline_path, load_policy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="classic")
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--checks", type=int, default=1000, help="counterfactuals to verify")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    policy = load_policy(baseline_path(args.mode))
    x, y = simulated_decisions(policy, args.mode, args.rounds, args.seed)
    started = time.perf_counter()
    surrogate = fit_surrogate(x, y, FEATURES)
    fitted = time.perf_counter() - started
    print(
        f"{args.mode}: {len(x)} decisions (bet share {y.mean():.3f}); fit {fitted:.2f} s; "
        f"held-out agreement {surrogate.holdout_agreement:.3f} "
        f"(majority {surrogate.majority_agreement:.3f}), train {surrogate.train_agreement:.3f}"
    )
    rng = np.random.default_rng(args.seed)
    held_out = x[surrogate.n_train :]
    picks = held_out[rng.choice(len(held_out), min(args.checks, len(held_out)), replace=False)]
    found = flipped = 0
    for row in picks:
        cf = counterfactual(surrogate, row, frozen=FROZEN)
        if cf is None:
            continue
        found += 1
        flipped += int(policy.act(cf.state) != policy.act(row))
    print(
        f"counterfactuals: {found} of {len(picks)} states have one; "
        f"{flipped / max(found, 1):.3f} flip the real bot's action"
    )


if __name__ == "__main__":
    main()
