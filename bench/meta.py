"""Does pooling across modes estimate a new mode's game models better, and does the
coach built on them play a new mode near the oracle?

Simulated modes with known truth (the simulator takes a mode's rules), in two families:
- `grid`: 9 modes, constant hazards 0.5 / 0.65 / 1.3 % per tick x drift shifts
  -0.4 / 0 / +0.4 % per tick (modes share values, as the shipped modes do: most change
  one rule and keep the rest; 0.5 % and 0.65 % sit either side of the sidebet's
  breakeven, 0.56 %, where a coach must tell them apart);
- `spread`: 8 modes, every one its own hazard (log-uniform 0.3-3 %) and drift shift
  (uniform +-0.6 %): no two share a value, the hard case for borrowing.
Each mode in turn is the new mode (leave one out): the other modes are sources with
`--source-rounds` rounds each; the target has its first 20, 50, 100, 200 rounds. Per
replicate every mode's rounds are drawn afresh (other seeds).

Figures:
- squared error of the hazard and drift estimates, pooled (posterior mean) and per mode
  (the target's own maximum-likelihood estimate), mean over (replicate, mode) with a
  normal 95 % interval, and the ratio per-mode / pooled with a bootstrap 95 % interval
  over those units (floor: >= 2 at 50 rounds);
- the coach's regret per round against the oracle, per SOL staked, exact (no outcome
  noise): the coach bets by the oracle's rule (optimal stopping, one sidebet per round
  from tick 200) on the estimated hazard, its value is taken under the true rules.
  Floor after <= 200 rounds: within 10 % of the oracle's value, or <= 0.005 where the
  oracle's value is 0; and the spread of that regret across the modes.

    nice -n 10 python bench/meta.py [--replicates 10] [--source-rounds 1000]
        [--family grid spread] [--json out.json]
    python bench/meta.py --figure docs/figures/meta_adapt.svg   # the docs' chart
    nice -n 10 python bench/meta.py --transfer profit_payout fast_rug [--seeds 6] \
        [--steps 100000] [--small-budget 10000] [--eval-rounds 1000] [--source POLICY]

`--transfer`: the transfer job's comparison (`capabilities.meta.transfer.compare`, the
lab's numpy PPO) per target mode on `--seeds` paired seeds, warm-started from the policy
the capability picks (the shipped baseline of the closest mode by hazard) unless
`--source` names one. Per arm: env steps until the policy stays within 90 % of the
oracle's value on held-out rounds (the job's `steps_to_target`) and until it first gets
there, censored runs counted at their last step; the ratio warm / scratch with a paired
bootstrap 95 % interval and the steps saved with a t-interval over seeds; the regret
after `--small-budget` steps and at the end; the best share of the oracle's value.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capabilities.engines.game_models.truth import TruePrice
from capabilities.meta.chart_svg import adapt_svg
from capabilities.meta.models import AdaptRequest
from capabilities.meta.pooling import ModeStats, Priors, RoundStats
from capabilities.meta.service import answer_from_stats
from game.oracle import optimal_bet_ticks, sidebet_ev_by_tick
from game.rules import GameRules, available_modes, load_mode
from game.simulator import simulate_rounds

COUNTS = (20, 50, 100, 200)
REGRET_AT = (50, 200)
ZERO_ORACLE_REGRET = 0.005


def family(name: str, seed: int = 7) -> list[GameRules]:
    base = load_mode("classic")
    if name == "grid":
        cells = [(h, s) for h in (0.005, 0.0065, 0.013) for s in (-0.004, 0.0, 0.004)]
    else:
        rng = np.random.default_rng(seed)
        cells = list(zip(np.exp(rng.uniform(np.log(0.003), np.log(0.03), 8)),
                         rng.uniform(-0.006, 0.006, 8), strict=True))  # fmt: skip
    return [
        base.model_copy(
            update={
                "name": f"{name}{i}",
                "rug_prob": float(h),
                "drift_low": base.drift_low + float(s),
                "drift_high": base.drift_high + float(s),
            }
        )
        for i, (h, s) in enumerate(cells)
    ]


def truth(rules: GameRules) -> tuple[float, float]:
    return rules.rug_prob, TruePrice(rules).drift_at(1.0)[0]


def stats(rules: GameRules, n: int, seed: int) -> RoundStats:
    rounds = simulate_rounds(rules, n, seed=seed)
    return RoundStats.from_paths(rules.name, rounds.rug_tick, rounds.prices)


def policy_value(rules: GameRules, hazard: float) -> float:
    """Expected value per round and SOL of the one-bet policy that is optimal when the
    hazard is `hazard` (constant), played under the true rules."""
    curve = np.full(rules.max_ticks, hazard)
    bet = optimal_bet_ticks(rules, hazard=curve)
    if not bet.any():
        return 0.0
    t = int(np.argmax(bet))
    return rules.survival(t) * float(sidebet_ev_by_tick(rules)[t])


def run_family(name: str, replicates: int, source_rounds: int) -> dict[str, Any]:
    modes = family(name)
    rows: list[dict[str, Any]] = []
    oracle = {m.name: policy_value(m, m.rug_prob) for m in modes}
    for r in range(replicates):
        sources = {
            m.name: stats(m, source_rounds, seed=10_000 * (r + 1) + i).upto()
            for i, m in enumerate(modes)
        }
        targets = {
            m.name: stats(m, max(COUNTS), seed=20_000 * (r + 1) + i) for i, m in enumerate(modes)
        }
        for m in modes:
            priors = Priors.fit([s for k, s in sources.items() if k != m.name])
            assert priors is not None
            h_true, d_true = truth(m)
            for n in COUNTS:
                own: ModeStats = targets[m.name].upto(n)
                pooled = priors.pool(own)
                row = {
                    "replicate": r,
                    "mode": m.name,
                    "rounds": n,
                    "hazard_err_pooled": (pooled.hazard.estimate - h_true) ** 2,
                    "hazard_err_own": (own.hazard - h_true) ** 2,
                    "drift_err_pooled": (pooled.drift.estimate - d_true) ** 2,
                    "drift_err_own": (own.drift - d_true) ** 2,
                    "weight_on_others": pooled.hazard.weight_on_others,
                }
                if n in REGRET_AT:
                    row["regret_pooled"] = oracle[m.name] - policy_value(m, pooled.hazard.estimate)
                    row["regret_own"] = oracle[m.name] - policy_value(m, own.hazard)
                rows.append(row)
    return {"family": name, "modes": modes, "oracle": oracle, "rows": rows}


def mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    m = float(np.mean(x))
    half = 1.96 * float(np.std(x, ddof=1)) / np.sqrt(len(x)) if len(x) > 1 else 0.0
    return m, m - half, m + half


def ratio_ci(own: np.ndarray, pooled: np.ndarray, rng: np.random.Generator) -> tuple[float, ...]:
    idx = rng.integers(0, len(own), size=(2000, len(own)))
    boot = own[idx].mean(axis=1) / pooled[idx].mean(axis=1)
    return float(own.mean() / pooled.mean()), *np.percentile(boot, [2.5, 97.5]).tolist()


def report(result: dict[str, Any]) -> dict[str, Any]:
    rows, rng = result["rows"], np.random.default_rng(0)
    out: dict[str, Any] = {"family": result["family"], "errors": [], "regret": []}
    print(f"\n== family {result['family']}: "
          + ", ".join(f"{m.name} (h {m.rug_prob:.4f}, drift {truth(m)[1]:+.4f})"
                      for m in result["modes"]))  # fmt: skip
    print(f"{'rounds':>6} {'param':>6} {'MSE pooled':>24} {'MSE per-mode':>24} "
          f"{'ratio (95% CI)':>22} {'w_others':>8}")  # fmt: skip
    for n in COUNTS:
        sel = [x for x in rows if x["rounds"] == n]
        w = float(np.mean([x["weight_on_others"] for x in sel]))
        for p in ("hazard", "drift"):
            pooled = np.array([x[f"{p}_err_pooled"] for x in sel])
            own = np.array([x[f"{p}_err_own"] for x in sel])
            mp, mo, ratio = mean_ci(pooled), mean_ci(own), ratio_ci(own, pooled, rng)
            print(f"{n:>6} {p:>6} {mp[0]:>10.3g} [{mp[1]:.2g},{mp[2]:.2g}] "
                  f"{mo[0]:>10.3g} [{mo[1]:.2g},{mo[2]:.2g}] "
                  f"{ratio[0]:>7.2f} [{ratio[1]:.2f},{ratio[2]:.2f}] {w:>8.3f}")  # fmt: skip
            out["errors"].append({"rounds": n, "parameter": p, "mse_pooled": mp, "mse_own": mo,
                                  "ratio": ratio, "weight_on_others": w})  # fmt: skip
    for n in REGRET_AT:
        print(f"-- coach regret per round and SOL staked after {n} rounds (mean over replicates)")
        per_mode = []
        for m in result["modes"]:
            sel = [x for x in rows if x["rounds"] == n and x["mode"] == m.name]
            rp = mean_ci(np.array([x["regret_pooled"] for x in sel]))
            ro = mean_ci(np.array([x["regret_own"] for x in sel]))
            value = result["oracle"][m.name]
            limit = 0.1 * value if value > 1e-12 else ZERO_ORACLE_REGRET
            ok = rp[0] <= limit
            per_mode.append(rp[0])
            print(f"   {m.name:>8} oracle {value:+.4f}  pooled {rp[0]:.5f} "
                  f"[{rp[1]:.5f},{rp[2]:.5f}]  per-mode {ro[0]:.5f}  floor {limit:.4f} "
                  f"{'ok' if ok else 'MISSED'}")  # fmt: skip
            out["regret"].append({"rounds": n, "mode": m.name, "oracle": value,
                                  "pooled": rp, "own": ro, "floor": limit, "ok": ok})  # fmt: skip
        spread = np.array(per_mode)
        print(f"   spread across {len(spread)} modes: mean {spread.mean():.5f}, "
              f"sd {spread.std(ddof=1):.5f}, max {spread.max():.5f}")  # fmt: skip
    return out


def figure(path: Path) -> None:
    """The adapt chart of profit_payout (classic's chart, other payout) after 300 rounds,
    pooled with 1,000 rounds of each other shipped mode."""
    shipped = ("classic", "fast_rug", "high_volatility", "rising_hazard")
    data = {m: stats(load_mode(m), 1000, seed=i + 1) for i, m in enumerate(shipped)}
    data["profit_payout"] = stats(load_mode("profit_payout"), 300, seed=99)
    answer = answer_from_stats(data, AdaptRequest(mode="profit_payout"), "pooled")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(adapt_svg(answer))
    print(json.dumps({"hazard": answer.hazard.model_dump(), "drift": answer.drift.model_dump(),
                      "prior": {k: v.model_dump() for k, v in answer.prior.items()}},
                     indent=1))  # fmt: skip


def source_by_capability(target: str, rounds: int = 200, source_rounds: int = 1000) -> str:
    """The policy `POST /v1/meta/transfer` warm-starts from when none is named: the shipped
    baseline of the closest mode (`closest_source`), here on simulated rounds of every
    shipped mode (`source_rounds` each, `rounds` of the target)."""
    from capabilities.meta.service import closest_source

    modes = available_modes()
    data = {m: stats(load_mode(m), source_rounds, seed=i + 1) for i, m in enumerate(modes)}
    data[target] = stats(load_mode(target), rounds, seed=99)
    answer = answer_from_stats(data, AdaptRequest(mode=target), "pooled")
    closest = closest_source(answer)
    assert closest is not None
    mode, weight = closest
    resembles = {k: v for k, v in answer.hazard.resembles.items() if v > 0}
    print(f"{target}: hazard resembles {resembles}; closest source {mode} ({weight:.3f})")
    return f"baseline:{mode}"


def at_budget(curve: list[dict[str, Any]], steps: int) -> dict[str, Any]:
    """The first curve point at or after `steps` env steps."""
    return next(p for p in curve if p["step"] >= steps)


def paired_ratio(warm: np.ndarray, scratch: np.ndarray, rng: np.random.Generator) -> tuple:
    """Mean warm / mean scratch with a paired bootstrap 95 % interval over seeds."""
    idx = rng.integers(0, len(warm), size=(4000, len(warm)))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = warm[idx].mean(axis=1) / scratch[idx].mean(axis=1)
    low, high = np.nanpercentile(boot, [2.5, 97.5]).tolist()
    return float(warm.mean() / scratch.mean()), low, high


def t_interval(x: np.ndarray) -> tuple[float, float, float]:
    from game.harness import mean_ci as t_mean_ci

    mean, (low, high) = t_mean_ci(x)
    return mean, low, high


def transfer_target(mode: str, source: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """`--seeds` paired runs of the transfer job's comparison (`compare`, in process, the
    request's engine: numpy): per seed both arms share the seed (rounds, action noise)
    and the held-out rounds; only the starting network differs."""
    from capabilities.meta.models import TransferRequest
    from capabilities.meta.transfer import ZERO_ORACLE_REGRET, compare
    from tools.policy_store import policy_store

    source = source or source_by_capability(mode)
    source_zip = policy_store(None).model_zip(source)
    runs = []
    for seed in range(args.seeds):
        request = TransferRequest(mode=mode, steps=args.steps, every_steps=args.every_steps,
                                  eval_rounds=args.eval_rounds, seed=seed,
                                  warm_learning_rate=args.warm_lr)  # fmt: skip
        runs.append(compare(request, source, source_zip))
        r = runs[-1]
        print(f"  seed {seed}: steps to target warm {r['warm']['steps_to_target']}, scratch "
              f"{r['scratch']['steps_to_target']}; {r['warm']['train_seconds']:.0f} + "
              f"{r['scratch']['train_seconds']:.0f} s; load {r['load_average']}",
              flush=True)  # fmt: skip
    oracle, stake = runs[0]["oracle_value"], runs[0]["stake"]
    limit = (1 - 0.9) * oracle if oracle > 0 else ZERO_ORACLE_REGRET * stake
    out: dict[str, Any] = {"mode": mode, "source": source, "oracle_value": oracle,
                           "target": runs[0]["target"], "seeds": args.seeds,
                           "steps": args.steps, "warm_lr": args.warm_lr, "arms": {}}  # fmt: skip
    print(f"== {mode}, warm start from {source}: oracle {oracle:+.4f} SOL a round; target "
          f"{runs[0]['target']} (regret <= {limit:.4f}); budget {args.steps} steps, "
          f"{args.seeds} seeds, {args.eval_rounds} held-out rounds every "
          f"{args.every_steps}; warm arm lr {args.warm_lr or 3e-4}")  # fmt: skip
    rng = np.random.default_rng(0)
    times: dict[str, dict[str, np.ndarray]] = {}
    for arm in ("warm", "scratch"):
        curves = [r[arm]["curve"] for r in runs]
        stay = [r[arm]["steps_to_target"] for r in runs]
        first = [r[arm]["first_within_target"] for r in runs]
        small = np.array([at_budget(c, args.small_budget)["regret"] for c in curves])
        final = np.array([c[-1]["regret"] for c in curves])
        best = np.array([np.nan if r[arm]["best_share_of_oracle"] is None
                         else r[arm]["best_share_of_oracle"] for r in runs])  # fmt: skip
        ends = [c[-1]["step"] for c in curves]  # a censored run counts at its last step
        times[arm] = {
            kind: np.array([e if x is None else x for x, e in zip(found, ends, strict=True)], float)
            for kind, found in (("stay", stay), ("first", first))
        }
        row = {"steps_to_target": stay, "first_within": first,
               "censored": sum(x is None for x in stay),
               "censored_first": sum(x is None for x in first),
               "regret_at_small_budget": t_interval(small), "final_regret": t_interval(final),
               "best_share": t_interval(best) if oracle > 0 else None,
               "best_share_runs": best.round(3).tolist()}  # fmt: skip
        out["arms"][arm] = row
        fmt = ", ".join(f">{args.steps}" if x is None else str(x) for x in stay)
        print(f"  {arm:>7}: steps to target (stays within) [{fmt}] ({row['censored']} of "
              f"{args.seeds} censored); first within {first} ({row['censored_first']} "
              f"censored)")  # fmt: skip
        s, f = row["regret_at_small_budget"], row["final_regret"]
        print(f"           regret after {args.small_budget} steps {s[0]:.4f} [{s[1]:.4f}, "
              f"{s[2]:.4f}]; at {args.steps} {f[0]:.4f} [{f[1]:.4f}, {f[2]:.4f}]")  # fmt: skip
        if row["best_share"] is not None:
            b = row["best_share"]
            print(f"           best share of the oracle's value on the curve {b[0]:.3f} "
                  f"[{b[1]:.3f}, {b[2]:.3f}] (per seed {row['best_share_runs']})")  # fmt: skip
    for kind in ("stay", "first"):
        ratio = paired_ratio(times["warm"][kind], times["scratch"][kind], rng)
        diff = t_interval(times["scratch"][kind] - times["warm"][kind])
        out[f"ratio_{kind}"], out[f"saved_{kind}"] = ratio, diff
        key = "censored" if kind == "stay" else "censored_first"
        censored = sum(out["arms"][arm][key] for arm in ("warm", "scratch"))
        note = f"{censored} of {2 * args.seeds} runs censored, counted at their last step"
        if censored > args.seeds:
            note += ": most runs never reached it, the ratio says nothing"
        print(f"  {kind:>5}: steps warm / scratch {ratio[0]:.2f} [{ratio[1]:.2f}, {ratio[2]:.2f}] "
              f"(paired bootstrap; {note}); steps saved {diff[0]:+.0f} "
              f"[{diff[1]:+.0f}, {diff[2]:+.0f}] (t over seeds)")  # fmt: skip
    small = {arm: np.array([at_budget(r[arm]["curve"], args.small_budget)["regret"]
                            for r in runs]) for arm in ("warm", "scratch")}  # fmt: skip
    d = t_interval(small["scratch"] - small["warm"])
    out["regret_gain_at_small_budget"] = d
    print(f"  regret after {args.small_budget} steps, scratch - warm {d[0]:+.4f} "
          f"[{d[1]:+.4f}, {d[2]:+.4f}] (paired t)")  # fmt: skip
    return out


def transfer(args: argparse.Namespace) -> None:
    """Warm start against scratch on each target mode (needs the `rl` extra)."""
    started = time.perf_counter()
    print(f"load before: {os.getloadavg()}")
    results = [transfer_target(mode, args.source, args) for mode in args.transfer]
    load = os.getloadavg()
    print(f"{time.perf_counter() - started:.0f} s; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"transfer": results, "load": load}, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--source-rounds", type=int, default=1000)
    ap.add_argument("--family", nargs="+", default=["grid", "spread"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--figure", type=Path, help="write the docs' adapt chart here and stop")
    ap.add_argument("--transfer", metavar="MODE", nargs="+",
                    help="compare warm and scratch PPO on these modes and stop")  # fmt: skip
    ap.add_argument("--source", help="policy to warm-start from (default: the capability's)")
    ap.add_argument("--steps", type=int, default=100_000, help="budget per run")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--every-steps", type=int, default=2_000)
    ap.add_argument("--eval-rounds", type=int, default=1_000)
    ap.add_argument("--small-budget", type=int, default=10_000)
    ap.add_argument("--warm-lr", type=float, help="the warm arm's learning rate (fine-tuning)")
    args = ap.parse_args()
    if args.transfer:
        transfer(args)
        return
    if args.figure:
        figure(args.figure)
        return
    started = time.perf_counter()
    print(f"load before: {os.getloadavg()}")
    reports = []
    for name in args.family:
        reports.append(report(run_family(name, args.replicates, args.source_rounds)))
    seconds = time.perf_counter() - started
    load = os.getloadavg()
    print(f"\n{args.replicates} replicates, {args.source_rounds} source rounds per mode, "
          f"{seconds:.0f} s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"reports": reports, "seconds": seconds,
                                         "load": load}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
