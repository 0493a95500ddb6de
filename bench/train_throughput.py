"""PPO training throughput: the numpy PPO and SB3, vectorized env and step env, in one run.

Every arm trains PPO at the bot's settings (MlpPolicy: two 64-unit Tanh layers each for
policy and value, lr 3e-4, gamma 0.99, GAE 0.95, n_epochs 10, clip 0.2, grad-norm 0.5,
GAME.md) on `SidebetV1Env` of a mode with a rollout of 2048 env steps per update: one
step env with SB3's n_steps 2048 (the bot's setup), or N vectorized envs with n_steps
2048 / N (the same rollout, so the same updates per env step). Arms differ in the
trainer (`numpy`: `game.ppo`, no torch; `sb3`: stable-baselines3), the env, N, the
minibatch (64 = the bot's: 320 gradient steps per rollout; larger = fewer) and torch
threads. Arms are interleaved and repeated; every figure is printed with the load
average it was taken under, and the summary gives each arm's ratio to SB3 on the step
env (the bot's setup) measured in the same run.

Then sample efficiency: held-out regret against the oracle (SOL per round, exact, from
`game.evaluation`) after the same env-step budget, numpy PPO against SB3 PPO (vec x16,
minibatch 64 both), over seeds, with 95 % t-intervals and the interval of the
difference (Welch): the fast trainer must learn as well as SB3.

    nice -n 10 python bench/train_throughput.py [--modes classic rising_hazard]
        [--steps 40960] [--repeats 2] [--efficiency-mode rising_hazard]
        [--efficiency-steps 200000] [--seeds 5] [--skip-efficiency] [--numpy-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capabilities.training.models import TrainingSpec  # noqa: E402
from capabilities.training.service import train  # noqa: E402
from game.batch_envs import SidebetBatch  # noqa: E402
from game.envs import SidebetV1Env  # noqa: E402
from game.harness import mean_ci  # noqa: E402
from game.ppo import PPO, BatchVecEnv, PPOConfig  # noqa: E402
from game.rules import load_mode  # noqa: E402
from game.vec_env import make_vec_env  # noqa: E402

ROLLOUT = 2048
BASE = "sb3 step env, batch 64 (the bot's)"
# (label, trainer, vectorized?, n_envs, batch, torch threads)
ARMS = [
    (BASE, "sb3", False, 1, 64, 1),
    ("numpy vec x16, batch 64", "numpy", True, 16, 64, 1),
    ("numpy vec x64, batch 64", "numpy", True, 64, 64, 1),
    ("numpy step-sized x1, batch 64", "numpy", True, 1, 64, 1),
    ("sb3 vec x16, batch 64", "sb3", True, 16, 64, 1),
    ("sb3 vec x64, batch 64", "sb3", True, 64, 64, 1),
    ("sb3 vec x16, batch 512", "sb3", True, 16, 512, 1),
    ("sb3 vec x16, batch 2048", "sb3", True, 16, 2048, 1),
]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def one_run(
    mode: str, trainer: str, vectorized: bool, n_envs: int, batch: int, threads: int, steps: int
) -> float:
    rules = load_mode(mode)
    if trainer == "numpy":
        model = PPO(BatchVecEnv(SidebetBatch(rules, n_envs, 0)), PPOConfig(batch_size=batch))
        started = time.perf_counter()
        model.learn(steps)
        return steps / (time.perf_counter() - started)
    import torch
    from stable_baselines3 import PPO as SB3PPO

    torch.set_num_threads(threads)
    env = make_vec_env("sidebet_v1", rules, n_envs, 0) if vectorized else SidebetV1Env(rules)
    model = SB3PPO("MlpPolicy", env, learning_rate=3e-4, n_steps=ROLLOUT // n_envs,
                   batch_size=batch, gamma=0.99, seed=0, device="cpu")  # fmt: skip
    started = time.perf_counter()
    model.learn(steps)
    return steps / (time.perf_counter() - started)


def throughput(args: argparse.Namespace, mode: str) -> None:
    arms = [a for a in ARMS if not args.numpy_only or a[1] == "numpy" or a[0] == BASE]
    print(f"\nPPO training throughput, {mode}, {args.steps} env steps per run, rollout "
          f"{ROLLOUT}, n_epochs 10, {os.cpu_count()} cores, nice {os.nice(0)}")  # fmt: skip
    rates: dict[str, list[tuple[float, str]]] = {a[0]: [] for a in arms}
    for repeat in range(args.repeats):
        for label, trainer, vec, n, batch, threads in arms:
            rate = one_run(mode, trainer, vec, n, batch, threads, args.steps)
            rates[label].append((rate, load()))
            print(f"  [{repeat + 1}] {label:<34} {rate:>8.0f} steps/s   load {load()}", flush=True)
    base = np.mean([r for r, _ in rates[BASE]])
    print(f"\nsummary, {mode} (mean of repeats; ratio to SB3 on the step env, same run)")
    for label, values in rates.items():
        mean = np.mean([r for r, _ in values])
        loads = ", ".join(at for _, at in values)
        print(f"  {label:<34} {mean:>8.0f} steps/s  x{mean / base:5.1f}   loads {loads}")


def welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of a - b with Welch's 95 % interval."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.975, df) * np.sqrt(va + vb))
    diff = float(a.mean() - b.mean())
    return diff, diff - half, diff + half


def efficiency(args: argparse.Namespace) -> None:
    mode = args.efficiency_mode
    print(f"\nsample efficiency on {mode}: held-out regret (SOL/round, exact, 2000 rounds) "
          f"after {args.efficiency_steps} env steps, vec x16, minibatch 64, "
          f"{args.seeds} seeds")  # fmt: skip
    regrets: dict[str, np.ndarray] = {}
    for engine in ("numpy", "sb3"):
        found, rates, curves = [], [], []
        for seed in range(args.seeds):
            spec = TrainingSpec(
                mode=mode,
                steps=args.efficiency_steps,
                seed=seed,
                n_envs=16,
                engine=engine,
                evaluation={"every_steps": args.efficiency_steps // 4, "rounds": 2000},
            )
            result = train(spec)
            found.append(result.final.regret.mean)
            rates.append(result.facts["steps_per_second"])
            curves.append([round(p.evaluation["regret"]["mean"], 3) for p in result.curve])
            print(f"    {engine} seed {seed}: regret {found[-1]:.4f}  "
                  f"{rates[-1]:.0f} steps/s  load {load()}", flush=True)  # fmt: skip
        regrets[engine] = np.array(found)
        mean, (low, high) = mean_ci(regrets[engine])
        oracle = result.final.oracle_value
        print(
            f"  {engine:>5}: regret {mean:.4f} [{low:.4f}, {high:.4f}] (oracle {oracle:+.4f})  "
            f"{np.mean(rates):.0f} steps/s  curves {curves}  load {load()}",
            flush=True,
        )
    diff, low, high = welch(regrets["numpy"], regrets["sb3"])
    print(f"  regret numpy - sb3: {diff:+.4f}, 95 % CI [{low:+.4f}, {high:+.4f}] (Welch)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["classic", "rising_hazard"])
    parser.add_argument("--steps", type=int, default=40_960)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--efficiency-mode", default="rising_hazard")
    parser.add_argument("--efficiency-steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--skip-efficiency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--numpy-only", action="store_true", help="numpy arms and the base only")
    args = parser.parse_args()
    for mode in [] if args.skip_throughput else args.modes:
        throughput(args, mode)
    if not args.skip_efficiency:
        efficiency(args)


if __name__ == "__main__":
    main()
