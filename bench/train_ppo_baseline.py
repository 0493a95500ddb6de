"""Train the PPO baseline per mode (as the bot's author does) and score it.

Prints the wall time of each training and its final score: mean true PnL per round in
SOL on held-out seeds, beside the oracle's on the same rounds (paired). Saves
`game/baselines/<mode>.zip` and `<mode>.json` (steps, seed, time, score).

    python bench/train_ppo_baseline.py [--steps 500000] [--modes classic,...]
        [--eval-rounds 20000] [--eval-seed 1000] [--skip-training] [--note TEXT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from game.harness import run_ab  # noqa: E402
from game.oracle import Oracle  # noqa: E402
from game.rl_baseline import load_policy, train  # noqa: E402
from game.rules import available_modes, load_mode  # noqa: E402

BASELINES = ROOT / "game" / "baselines"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default=",".join(available_modes()))
    parser.add_argument("--eval-rounds", type=int, default=20_000)
    parser.add_argument("--eval-seed", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=BASELINES)
    parser.add_argument("--skip-training", action="store_true", help="only score saved files")
    parser.add_argument("--note", help="a remark stored in each JSON (e.g. a shorter training)")
    args = parser.parse_args()

    for mode in args.modes.split(","):
        rules = load_mode(mode)
        path = args.out / f"{mode}.zip"
        if not args.skip_training:
            started = time.perf_counter()
            train(rules, args.steps, args.seed, path)
            print(f"{mode}: trained {args.steps} steps in {time.perf_counter() - started:.0f} s")
        policy = load_policy(path, name="ppo")
        report = run_ab(
            [policy, Oracle(rules)], rules, n_rounds=args.eval_rounds, seed=args.eval_seed
        )
        ppo, oracle = report.policies["ppo"], report.policies["oracle"]
        diff = report.pair("ppo", "oracle")
        facts_path = path.with_suffix(".json")
        facts = json.loads(facts_path.read_text(encoding="utf-8"))
        facts["score"] = {
            "eval_seed": args.eval_seed,
            "eval_rounds": args.eval_rounds,
            "ppo_mean_pnl": ppo.mean_pnl,
            "ppo_ci95": list(ppo.ci95),
            "ppo_bet_rate": ppo.bet_rate,
            "ppo_expected_pnl": ppo.expected_pnl,
            "ppo_mean_training_reward": ppo.mean_training_reward,
            "oracle_mean_pnl": oracle.mean_pnl,
            "oracle_expected_pnl": oracle.expected_pnl,
            "ppo_minus_oracle": diff.mean_diff,
            "ppo_minus_oracle_ci95": list(diff.ci95),
        }
        if args.note:
            facts["note"] = args.note
        facts_path.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        print(
            f"{mode}: train {facts['train_seconds']} s ({facts['steps']} steps); "
            f"PPO {ppo.mean_pnl:+.4f} SOL/round (bets in {ppo.bet_rate:.1%} of rounds), "
            f"oracle {oracle.mean_pnl:+.4f}, PPO-oracle {diff.mean_diff:+.4f} "
            f"[{diff.ci95[0]:+.4f}, {diff.ci95[1]:+.4f}] on {args.eval_rounds} held-out rounds"
        )


if __name__ == "__main__":
    main()
