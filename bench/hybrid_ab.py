"""The hybrid policy against the pure RL baseline, per mode, on held-out seeds.

For each mode: the game models are fitted on simulated training rounds, the PPO baseline
is loaded from `game/baselines/<mode>.zip`, and the A/B harness plays the RL bot, the
hybrid (the RL bot with confidence-gated overrides), a coach follower and the oracle on
the same held-out rounds. Prints mean PnL per round (SOL per 1 SOL staked) with 95 %
intervals, the paired difference hybrid - RL with its interval, the share of the
RL-to-oracle gap the hybrid closes, and the precision and recall of the critical-moment
flags against the oracle (a flag is right when the oracle's action differs from RL's).

    python bench/hybrid_ab.py [--rounds 20000] [--train-rounds 2000] [--modes classic,...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from capabilities.analyst.fit import simulated_decisions  # noqa: E402
from capabilities.engines.game_models.registry import fit_model_set  # noqa: E402
from capabilities.hybrid.bots import CoachFollower, HybridBot  # noqa: E402
from capabilities.hybrid.policy import Thresholds  # noqa: E402
from game.harness import run_ab  # noqa: E402
from game.oracle import Oracle  # noqa: E402
from game.rl_baseline import load_policy  # noqa: E402
from game.rules import available_modes, load_mode  # noqa: E402
from game.simulator import simulate_rounds  # noqa: E402

TRAIN_SEED, HELD_OUT_SEED = 7, 424242


def flag_quality(hybrid: HybridBot, oracle: Oracle, rules, rounds: int, seed: int) -> dict:
    """Precision and recall of critical flags over every (round, tick >= 200) state."""
    flat, rl = simulated_decisions(hybrid.rl, rules.name, rounds, seed)
    truth = oracle.act_batch(flat)
    flagged = np.array(
        [hybrid.decision(int(t), int(a)).critical for t, a in zip(flat[:, 0], rl, strict=True)]
    )
    overridden = hybrid.act_batch(flat) != rl
    wrong = truth != rl
    return {
        "states": len(flat),
        "flagged": int(flagged.sum()),
        "precision": float((flagged & wrong).sum() / max(flagged.sum(), 1)),
        "recall": float((flagged & wrong).sum() / max(wrong.sum(), 1)),
        "overrides": int(overridden.sum()),
        "override_precision": float((overridden & wrong).sum() / max(overridden.sum(), 1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--train-rounds", type=int, default=2_000)
    parser.add_argument("--modes", default=",".join(available_modes()))
    parser.add_argument("--baselines", type=Path, default=ROOT / "game" / "baselines")
    args = parser.parse_args()
    for mode in args.modes.split(","):
        rules = load_mode(mode)
        train = simulate_rounds(rules, args.train_rounds, seed=TRAIN_SEED)
        models = fit_model_set(mode, train.rug_tick, train.prices, f"train-{TRAIN_SEED}")
        path = args.baselines / f"{mode}.zip"
        if not path.exists():
            print(f"{mode}: no baseline at {path}; run bench/train_ppo_baseline.py")
            continue
        rl = load_policy(path, name="rl")
        oracle = Oracle(rules)
        hybrid = HybridBot(rl, models, Thresholds())
        report = run_ab(
            [rl, hybrid, CoachFollower(models), oracle], rules, args.rounds, HELD_OUT_SEED
        )
        s = report.policies
        diff = report.pair("hybrid", "rl")
        coach_diff = report.pair("coach", "rl")
        gap = s["oracle"].mean_pnl - s["rl"].mean_pnl
        closed = (s["hybrid"].mean_pnl - s["rl"].mean_pnl) / gap if abs(gap) > 1e-12 else None
        print(
            f"== {mode} ({models.version}, hazard {models.hazard_model.kind}), {args.rounds} rounds"
        )
        for name in ("rl", "hybrid", "coach", "oracle"):
            p = s[name]
            print(
                f"  {name:<7} mean PnL {p.mean_pnl:+.4f} SOL/round "
                f"[{p.ci95[0]:+.4f}, {p.ci95[1]:+.4f}]  bet rate {p.bet_rate:.3f}"
            )
        print(
            f"  hybrid - rl: {diff.mean_diff:+.5f} [{diff.ci95[0]:+.5f}, {diff.ci95[1]:+.5f}]"
            f"  gap to oracle {gap:+.4f}, closed "
            + ("n/a (RL already matches the oracle)" if closed is None else f"{closed:.0%}")
        )
        print(
            f"  coach - rl: {coach_diff.mean_diff:+.4f} "
            f"[{coach_diff.ci95[0]:+.4f}, {coach_diff.ci95[1]:+.4f}]"
        )
        q = flag_quality(hybrid, oracle, rules, min(args.rounds, 5000), HELD_OUT_SEED + 1)
        print(
            f"  critical flags: {q['flagged']} of {q['states']} states, precision "
            f"{q['precision']:.3f}, recall {q['recall']:.3f}; overrides {q['overrides']} "
            f"(precision {q['override_precision']:.3f})"
        )


if __name__ == "__main__":
    main()
