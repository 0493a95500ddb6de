"""Does the curriculum cut training time? Env steps to reach 90 % of the oracle's value.

Target task: a mode where skill exists (default rising_hazard: the oracle waits until
tick 241, then bets, for +0.38 SOL a round). In classic the oracle's value is 0 (no
sidebet is +EV before the tick cap): "90 % of 0" is reached by any policy that never
bets, so the question has no meaning there; the bench says so and does not train on it.

The scenarios both arms draw from (`--scenario-set`):
- `relevant` (default): the grid's scenarios around the mode whose optimum serves the
  target (relevance >= 0.9, `capabilities.curriculum`): hazard x1 (and x0.5 on the rounds
  decided near the betting zone), volatility x1/2, first observed tick 0/150/200, all
  rounds, those reaching the betting zone or those decided within two windows of it;
  the comparison is then about the order and mix alone;
- `grid`: the whole default grid (hazard x0.5/1/2 ...): uniform sampling then also trains
  on scenarios whose optimum bets at the wrong ticks, which the curriculum leaves out.

The reward (`--reward`): `bot`, the bot's own (GAME.md), under which no run of either arm
reached 90 % in earlier runs (PPO settles near betting at the first allowed tick, about
51 % of the oracle's value: a bet's +4/-1 outcome noise hides the few hundredths a tick
of waiting earns); `proposed`, the reward-shaping capability's proposal (each bet's exact
expected profit paid when placed, plus potential-based shaping, which leaves the optimal
policy unchanged), which removes that noise. Both arms always share the reward.

Arms, each with the same PPO (the lab's numpy PPO at the bot's settings: lr 3e-4,
rollout 2048, minibatch 64, n_epochs 10, gamma `--gamma`, default the bot's 0.99), budget
and seeds. docs/training.md runs both arms with `--normalize-observations` (VecNormalize's
transform, as the bot's own script): without it the policy's bet probability hardly
depends on the tick and the greedy policy swings between betting at 200 and never
betting; at `--gamma 0.999` and at the bot's 0.99 (where the proposed reward's
discounted optimum bets at tick 224, 92 % of the oracle's value).
- `curriculum`: `CurriculumCallback` (the bot's client callback) asking the curriculum
  service (in-process, `POST /v1/curriculum/next`'s code) every N episodes, and playing
  what it answers (`--temperature`, `--stale-share`, `--max-share`, `--min-episodes` set
  those request fields; unset, the service's defaults);
- `uniform`: the same callback, every scenario of the set equally likely;
- `target` (context, `--with-target`): the target mode alone, no scenarios.
Every `--eval-every` steps the greedy policy is scored on 2,000 held-out rounds of the
target (expected PnL per round, exact given the bet ticks); an arm's time is the first
evaluation at or above 90 % of the oracle's value (`--sustain K`: the first of K
evaluations in a row there, so a passing crest does not count), censored at the budget
if never (censored runs are counted and shown with `>`). `--verbose` prints each run's
curve, the curriculum's last answer and where the env steps went.

The ratio curriculum / uniform is taken per seed (the same seed gives both arms the same
initial network and rounds), and its 95 % interval is a t-interval on the paired log
ratios (n = seeds, df = n - 1), exponentiated. A censored time enters at the budget: if
only uniform runs are censored, the ratio is then an upper bound.

    nice -n 10 python bench/curriculum.py [--mode rising_hazard] [--seeds 5]
        [--budget 1000000] [--eval-every 20000] [--scenario-set relevant|grid]
        [--goal 0.9] [--reward bot|proposed] [--every-episodes 64] [--with-target]
        [--gamma 0.99] [--normalize-observations] [--sustain 1] [--verbose]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent_service.client.curriculum import CurriculumCallback  # noqa: E402
from capabilities.curriculum.models import CurriculumRequest  # noqa: E402
from capabilities.curriculum.service import next_scenarios, relevance  # noqa: E402
from capabilities.training.models import TrainingSpec  # noqa: E402
from capabilities.training.service import train  # noqa: E402
from game.scenarios import Scenario, scenario_grid  # noqa: E402

TUNABLE = ("temperature", "stale_share", "max_share", "min_episodes", "per_step")


class Reached(Exception):
    """Stops a run once the target is reached (the time is recorded first)."""


def curriculum_ask(body: dict[str, Any]) -> dict[str, Any]:
    return next_scenarios(CurriculumRequest.model_validate(body)).model_dump(mode="json")


def uniform_ask(scenarios: list[Scenario]) -> Any:
    share = 1.0 / len(scenarios)
    answer = {"scenarios": [{"id": s.id, "scenario": s.model_dump(), "probability": share}
                            for s in scenarios]}  # fmt: skip
    return lambda body: answer


def reward_of(name: str, gamma: float) -> dict[str, Any] | None:
    """`bot`: the bot's own reward (GAME.md); `proposed`: the reward-shaping capability's
    proposal (each bet's exact expected profit paid when placed, plus potential-based
    shaping from the true value, which leaves the optimal policy unchanged)."""
    if name == "bot":
        return None
    from capabilities.rewards.service import proposed_reward

    return proposed_reward(gamma).model_dump(mode="json")


def run_arm(arm: str, args: argparse.Namespace, seed: int, grid: list[Scenario]) -> dict[str, Any]:
    target = Scenario(mode=args.mode)
    goal = args.goal * target.oracle_value()
    spec = TrainingSpec(
        mode=args.mode,
        steps=args.budget,
        seed=seed,
        n_envs=args.n_envs,
        engine=args.engine,
        ppo={
            "batch_size": args.batch,
            "gamma": args.gamma,
            "normalize_observations": args.normalize_observations,
        },
        reward=reward_of(args.reward, args.gamma),
        evaluation={"every_steps": args.eval_every, "rounds": 2000},
    )
    callbacks = []
    if arm != "target":
        ask = curriculum_ask if arm == "curriculum" else uniform_ask(grid)
        request = {"scenarios": [s.model_dump() for s in grid], "count": len(grid)}
        request |= {k: v for k, v in vars(args).items() if k in TUNABLE and v is not None}
        callbacks.append(CurriculumCallback(mode=args.mode, every_episodes=args.every_episodes,
                                            ask=ask, request=request, seed=seed))  # fmt: skip
    spent: Counter[str] = Counter()

    def account(locals_: dict[str, Any], globals_: dict[str, Any]) -> bool:
        """Env steps per scenario (a finished episode's length), to show where they went."""
        for info, done in zip(locals_["infos"], locals_["dones"], strict=False):
            if done and "scenario" in info:
                spent[info["scenario"]] += info["tick"] - starts[info["scenario"]]
        return True

    starts = {s.id: s.start_tick for s in grid}
    callbacks.append(account)
    reached: list[int] = []
    best = [float("-inf")]

    curve: list[tuple[int, float]] = []

    streak: list[int] = []  # steps of the current run of evaluations at the goal

    def on_point(point: Any) -> None:
        value = point.evaluation["expected_pnl"]["mean"]
        curve.append((point.step, round(value / target.oracle_value(), 3)))
        best[0] = max(best[0], value)
        if point.step > 0 and value >= goal:
            streak.append(point.step)
            if len(streak) >= args.sustain:
                reached.append(streak[0])
                raise Reached
        else:
            streak.clear()

    started = time.perf_counter()
    with contextlib.suppress(Reached):
        train(spec, on_point=on_point, callbacks=callbacks)
    answer = getattr(callbacks[0], "last_answer", None)
    top = [(o["id"], round(o["probability"], 3)) for o in (answer or {}).get("scenarios", [])[:4]]
    total = sum(spent.values()) or 1
    return {
        "top": top,
        "spent": [(sid, round(n / total, 3)) for sid, n in spent.most_common(5)],
        "by_start": {
            t: round(sum(n for sid, n in spent.items() if starts[sid] == t) / total, 3)
            for t in sorted(set(starts.values()))
        },
        "steps": reached[0] if reached else args.budget,
        "censored": not reached,
        "best_share": best[0] / target.oracle_value(),
        "curve": curve,
        "seconds": time.perf_counter() - started,
    }


def log_ratio_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    d = np.log(a) - np.log(b)
    mean = float(d.mean())
    if len(d) < 2:
        return math.exp(mean), float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="rising_hazard")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=1_000_000)
    parser.add_argument("--eval-every", type=int, default=20_000)
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--normalize-observations", action="store_true")
    parser.add_argument("--engine", choices=["numpy", "sb3"], default="numpy")
    parser.add_argument("--goal", type=float, default=0.9, help="share of the oracle's value")
    parser.add_argument("--scenario-set", choices=["relevant", "grid"], default="relevant")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--lower-goals", type=float, nargs="*", default=[0.6, 0.7, 0.8])
    parser.add_argument("--reward", choices=["bot", "proposed"], default="bot")
    parser.add_argument("--arms", nargs="+", default=None, help="default: curriculum uniform")
    parser.add_argument("--every-episodes", type=int, default=64)
    parser.add_argument("--with-target", action="store_true")
    parser.add_argument(
        "--sustain",
        type=int,
        default=1,
        help="evaluations in a row at the goal; the time is the first (1: a crest counts)",
    )
    parser.add_argument("--temperature", type=float, help="curriculum request (default: its)")
    parser.add_argument("--stale-share", type=float, help="curriculum request (default: its)")
    parser.add_argument("--max-share", type=float, help="curriculum request (default: its)")
    parser.add_argument("--min-episodes", type=int, help="curriculum request (default: its)")
    parser.add_argument("--per-step", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--verbose", action="store_true", help="print every run's curve")
    args = parser.parse_args()

    target = Scenario(mode=args.mode)
    value = target.oracle_value()
    print(f"target {target.id}: oracle value {value:+.4f} SOL/round; goal "
          f"{args.goal:.0%} = {args.goal * value:+.4f}")  # fmt: skip
    if value < 1e-6:
        print(
            f"{args.mode}: the oracle's value is {value:.1e} SOL/round (sidebets are -EV until "
            "the tick cap): 90 % of it is met by any policy that never bets, so steps-to-90 % "
            "measures nothing here. Not trained."
        )
        return
    grid = scenario_grid(args.mode)
    if args.scenario_set == "relevant":
        grid = [s for s in grid if relevance(s, target) >= 0.9]
    print(f"{len(grid)} scenarios ({args.scenario_set}); PPO ({args.engine}) lr 3e-4, rollout "
          f"2048, batch {args.batch}, gamma {args.gamma}, {args.n_envs} envs; normalized "
          f"observations {args.normalize_observations}; budget {args.budget}; "
          f"eval every {args.eval_every} steps; curriculum update every "
          f"{args.every_episodes} episodes; reward {args.reward}; goal held for {args.sustain} "
          f"evaluation(s) in a row; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    arms = args.arms or ["curriculum", "uniform"] + (["target"] if args.with_target else [])
    found: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for arm in arms:
            r = run_arm(arm, args, seed, grid)
            found[arm].append(r)
            mark = ">" if r["censored"] else ""
            load = "/".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"  seed {seed} {arm:<10} {mark}{r['steps']:>8} steps  best "
                  f"{r['best_share']:.0%} of the oracle  {r['seconds']:6.1f} s  load {load}",
                  flush=True)  # fmt: skip
            if args.verbose:
                print(f"    curve (step, share of the oracle): {r['curve']}", flush=True)
                print(f"    last answer's first scenarios: {r['top']}", flush=True)
                print(f"    share of the env steps (first 5): {r['spent']}; by first "
                      f"observed tick: {r['by_start']}", flush=True)  # fmt: skip
    steps = {arm: np.array([r["steps"] for r in found[arm]], dtype=float) for arm in arms}
    print()
    for arm in arms:
        censored = sum(r["censored"] for r in found[arm])
        print(
            f"{arm:<10} steps to 90 %: median {np.median(steps[arm]):.0f}, "
            f"per seed {steps[arm].astype(int).tolist()} ({censored} censored at the budget)"
        )
    censored = {arm: [r["censored"] for r in found[arm]] for arm in arms}
    if not {"curriculum", "uniform"} <= set(arms):
        return
    if all(censored["curriculum"]) and all(censored["uniform"]):
        print(f"ratio curriculum / uniform: undefined: no run of either arm reached "
              f"{args.goal:.0%} of the oracle within {args.budget} steps; floor <= 0.5: "
              f"not met")  # fmt: skip
        lower_goals(args, found)
        return
    ratio, low, high = log_ratio_interval(steps["curriculum"], steps["uniform"])
    caveat = (
        " (censored runs count at the budget: a bound, not a time)"
        if any(censored["curriculum"] + censored["uniform"])
        else ""
    )
    print(
        f"ratio curriculum / uniform: {ratio:.3f}, 95 % CI [{low:.3f}, {high:.3f}] "
        f"(paired log-ratio t-interval, n = {args.seeds}){caveat}; floor <= 0.5: "
        f"{'met' if high <= 0.5 else ('point estimate met' if ratio <= 0.5 else 'not met')}"
    )
    if "target" in arms:
        r2, l2, h2 = log_ratio_interval(steps["curriculum"], steps["target"])
        print(f"ratio curriculum / target only: {r2:.3f}, 95 % CI [{l2:.3f}, {h2:.3f}]")
    lower_goals(args, found)


def first_reaching(run: dict[str, Any], share: float, budget: int) -> tuple[int, bool]:
    """(steps, censored) to the first evaluation after step 0 at `share` of the oracle."""
    hits = [step for step, value in run["curve"] if step > 0 and value >= share]
    return (hits[0], False) if hits else (budget, True)


def lower_goals(args: argparse.Namespace, found: dict[str, list[dict[str, Any]]]) -> None:
    """The same runs read at lower shares of the oracle (each is reached before the run
    stops at the goal), with the same paired ratio: less censoring, same question. The
    untrained network's greedy policy already holds 20-57 % of the oracle's value, so
    shares near that measure little."""
    for share in args.lower_goals:
        times = {
            arm: [first_reaching(r, share, args.budget) for r in found[arm]]
            for arm in ("curriculum", "uniform")
        }
        steps = {arm: np.array([t for t, _ in v], dtype=float) for arm, v in times.items()}
        cut = {arm: sum(c for _, c in v) for arm, v in times.items()}
        ratio, low, high = log_ratio_interval(steps["curriculum"], steps["uniform"])
        per = {arm: steps[arm].astype(int).tolist() for arm in steps}
        print(f"  at {share:.0%}: curriculum {per['curriculum']} ({cut['curriculum']} "
              f"censored), uniform {per['uniform']} ({cut['uniform']} censored); ratio "
              f"{ratio:.2f} [{low:.2f}, {high:.2f}]")  # fmt: skip


if __name__ == "__main__":
    main()
