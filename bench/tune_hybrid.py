"""Tune the hybrid policy's thresholds on simulated rounds (the documented procedure).

1. Fit the game models of the mode on training rounds (seed 7), as the service would on
   stored history.
2. On separate tuning rounds (seed 99), play the PPO baseline wrapped by the hybrid for
   every point of the grid (min_loss x critical_confidence x override_confidence), with
   common random numbers, and measure mean PnL per round and the precision of the
   critical flags against the oracle.
3. Keep the points whose flag precision is at least 0.9; choose the one with the highest
   mean PnL (ties: the larger override confidence, i.e. fewer overrides).
4. Report it; `bench/hybrid_ab.py` then evaluates the chosen thresholds on held-out
   rounds (seed 424242), never on the tuning rounds.

    python bench/tune_hybrid.py [--modes classic,...] [--rounds 5000]
Set the result with AGENT_HYBRID_MIN_LOSS, AGENT_HYBRID_CRITICAL_CONFIDENCE and
AGENT_HYBRID_OVERRIDE_CONFIDENCE (one set for all modes; per-mode adjustments come from
the mode's advice).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from hybrid_ab import TRAIN_SEED, flag_quality  # noqa: E402

from capabilities.engines.game_models.registry import fit_model_set  # noqa: E402
from capabilities.hybrid.bots import HybridBot  # noqa: E402
from capabilities.hybrid.policy import Thresholds  # noqa: E402
from game.harness import run_ab  # noqa: E402
from game.oracle import Oracle  # noqa: E402
from game.rl_baseline import baseline_path, load_policy  # noqa: E402
from game.rules import available_modes, load_mode  # noqa: E402
from game.simulator import simulate_rounds  # noqa: E402

TUNING_SEED = 99
GRID = {
    "min_loss": (0.0, 0.02, 0.1),
    "critical_confidence": (0.5, 0.8, 0.9, 0.95, 0.99),
    "override_confidence": (0.8, 0.9, 0.95, 0.99),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(available_modes()))
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--train-rounds", type=int, default=2000)
    parser.add_argument("--verbose", action="store_true", help="print every grid point")
    args = parser.parse_args()
    verbose = args.verbose
    for mode in args.modes.split(","):
        rules = load_mode(mode)
        path = baseline_path(mode)
        if path is None:
            print(f"{mode}: no PPO baseline; run bench/train_ppo_baseline.py")
            continue
        train = simulate_rounds(rules, args.train_rounds, seed=TRAIN_SEED)
        models = fit_model_set(mode, train.rug_tick, train.prices, f"train-{TRAIN_SEED}")
        rl, oracle = load_policy(path, name="rl"), Oracle(rules)
        points = []
        for values in itertools.product(*GRID.values()):
            t = Thresholds(**dict(zip(GRID, values, strict=True)))
            if t.override_confidence < t.critical_confidence:
                continue
            bot = HybridBot(rl, models, t)
            report = run_ab([bot], rules, args.rounds, TUNING_SEED)
            q = flag_quality(bot, oracle, rules, min(args.rounds, 2000), TUNING_SEED + 1)
            points.append((report.policies["hybrid"].mean_pnl, t, q["precision"]))
            if verbose:
                print(
                    f"  {t}: mean PnL {points[-1][0]:+.4f}, "
                    f"flag precision {q['precision']:.3f}, recall {q['recall']:.3f}"
                )
        ok = [p for p in points if p[2] >= 0.9] or points
        best = max(ok, key=lambda p: (p[0], p[1].override_confidence))
        print(
            f"{mode}: {len(points)} points, {len(ok)} with flag precision >= 0.9; best mean "
            f"PnL {best[0]:+.4f} at min_loss={best[1].min_loss}, critical_confidence="
            f"{best[1].critical_confidence}, override_confidence={best[1].override_confidence}"
            f" (precision {best[2]:.3f})"
        )


if __name__ == "__main__":
    main()
