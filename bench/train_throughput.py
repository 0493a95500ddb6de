"""PPO training throughput: the vectorized env against the step env, in the same run.

Every arm trains stable-baselines3 PPO (MlpPolicy, lr 3e-4, gamma 0.99, n_epochs 10, the
bot's settings, GAME.md) on `SidebetV1Env` of a mode with a rollout of 2048 env steps
per update: one step env with SB3's n_steps 2048 (the bot's setup), or N vectorized
envs with n_steps 2048 / N (the same rollout size, so the same updates per env step).
Arms differ in the env, N, the minibatch (64 = the bot's; larger = fewer gradient steps
per rollout) and torch threads. Arms are interleaved and repeated; each figure is
printed with the load average it was taken under.

Then, because a larger minibatch buys speed with fewer gradient steps per sample, the
sample efficiency of the minibatch sizes: held-out regret against the oracle (SOL per
round, exact, from `game.evaluation`) after the same env-step budget, over seeds, with
95 % t-intervals.

    nice -n 10 python bench/train_throughput.py [--mode rising_hazard] [--steps 40960]
        [--repeats 2] [--efficiency-steps 200000] [--seeds 3] [--skip-efficiency]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capabilities.training.models import TrainingSpec  # noqa: E402
from capabilities.training.service import train  # noqa: E402
from game.envs import SidebetV1Env  # noqa: E402
from game.harness import mean_ci  # noqa: E402
from game.rules import load_mode  # noqa: E402
from game.vec_env import make_vec_env  # noqa: E402

ROLLOUT = 2048
# (label, vectorized?, n_envs, batch, torch threads)
ARMS = [
    ("step env, batch 64 (the bot's)", False, 1, 64, 1),
    ("vec x16, batch 64", True, 16, 64, 1),
    ("vec x64, batch 64", True, 64, 64, 1),
    ("vec x16, batch 256", True, 16, 256, 1),
    ("vec x16, batch 512", True, 16, 512, 1),
    ("vec x64, batch 512", True, 64, 512, 1),
    ("vec x16, batch 512, 2 threads", True, 16, 512, 2),
    ("vec x16, batch 2048", True, 16, 2048, 1),
]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def one_run(
    mode: str, vectorized: bool, n_envs: int, batch: int, threads: int, steps: int
) -> float:
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(threads)
    rules = load_mode(mode)
    env = make_vec_env("sidebet_v1", rules, n_envs, 0) if vectorized else SidebetV1Env(rules)
    model = PPO("MlpPolicy", env, learning_rate=3e-4, n_steps=ROLLOUT // n_envs,
                batch_size=batch, gamma=0.99, seed=0, device="cpu")  # fmt: skip
    started = time.perf_counter()
    model.learn(steps)
    return steps / (time.perf_counter() - started)


def throughput(args: argparse.Namespace) -> None:
    print(f"PPO training throughput, {args.mode}, {args.steps} env steps per run, rollout "
          f"{ROLLOUT}, n_epochs 10, {os.cpu_count()} cores")  # fmt: skip
    rates: dict[str, list[tuple[float, str]]] = {a[0]: [] for a in ARMS}
    for repeat in range(args.repeats):
        for label, vec, n, batch, threads in ARMS:
            rate = one_run(args.mode, vec, n, batch, threads, args.steps)
            rates[label].append((rate, load()))
            print(f"  [{repeat + 1}] {label:<32} {rate:>8.0f} steps/s   load {load()}", flush=True)
    base = np.mean([r for r, _ in rates[ARMS[0][0]]])
    print("\nsummary (mean of repeats; ratio to the step env with the bot's batch, same run)")
    for label, values in rates.items():
        mean = np.mean([r for r, _ in values])
        loads = ", ".join(at for _, at in values)
        print(f"  {label:<32} {mean:>8.0f} steps/s  x{mean / base:5.1f}   loads {loads}")


def efficiency(args: argparse.Namespace) -> None:
    print(f"\nsample efficiency on {args.mode}: held-out regret (SOL/round, exact) after "
          f"{args.efficiency_steps} env steps, vec x16, {args.seeds} seeds")  # fmt: skip
    for batch in (64, 512, 2048):
        regrets, rates, curves = [], [], []
        for seed in range(args.seeds):
            spec = TrainingSpec(
                mode=args.mode,
                steps=args.efficiency_steps,
                seed=seed,
                n_envs=16,
                ppo={"batch_size": batch},
                evaluation={"every_steps": args.efficiency_steps // 4, "rounds": 2000},
            )
            result = train(spec)
            regrets.append(result.final.regret.mean)
            rates.append(result.facts["steps_per_second"])
            curves.append([round(p.evaluation["regret"]["mean"], 3) for p in result.curve])
        mean, (low, high) = mean_ci(np.array(regrets))
        print(
            f"  batch {batch:>5}: regret {mean:.4f} [{low:.4f}, {high:.4f}]  "
            f"{np.mean(rates):.0f} steps/s  curves {curves}  load {load()}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="rising_hazard")
    parser.add_argument("--steps", type=int, default=40_960)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--efficiency-steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-efficiency", action="store_true")
    args = parser.parse_args()
    throughput(args)
    if not args.skip_efficiency:
        efficiency(args)


if __name__ == "__main__":
    main()
