"""The `rewards.ab` job: PPO under the original and the proposed reward, paired by seed,
scored on true economics (the held-out rounds of `capabilities.training`).

Both arms of a pair train with the same seed, budget and PPO settings (the proposed arm
with the proposal's discount); each run is scored once at the end. The comparison of a
metric is the mean of the per-seed differences proposed - original with its 95 %
t-interval (seeds where an arm placed no bet have no win rate and drop out of that one).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from capabilities.engines.jobs import Progress, handler
from capabilities.rewards.models import (
    ABComparison,
    ABInterval,
    ABResult,
    ABSettings,
    ArmResult,
    ReviewRequest,
    RewardReview,
)
from capabilities.rewards.service import bot_reward, optimum, view
from game.harness import mean_ci

KIND = "rewards.ab"
ARMS = ("original", "proposed")
SEED_STRIDE = 1000
"""Training seeds of a pair are first_seed + k * 1000: their envs' seeds never overlap."""
METRICS = ("pnl_per_round", "win_rate", "bets_per_round", "expected_pnl_per_round", "regret")


def ab_payload(request: ReviewRequest, answer: RewardReview) -> dict[str, Any]:
    """The job's payload: the reviewed reward against the proposal (or `ab.proposed`),
    with the exact optimum of each for comparison."""
    ab = request.ab
    if ab is None:
        raise ValueError("the request asks for no A/B")
    original = request.reward or bot_reward()
    proposed = ab.proposed or answer.proposal.reward
    gammas = {"original": request.gamma, "proposed": ab.proposed_gamma or answer.proposal.gamma}
    best = optimum(proposed, request.mode, gammas["proposed"])
    return {
        "mode": request.mode,
        "settings": ab.model_dump(mode="json", exclude={"proposed", "proposed_gamma"}),
        "rewards": {
            "original": original.model_dump(mode="json"),
            "proposed": proposed.model_dump(mode="json"),
        },
        "gammas": gammas,
        "exact": {
            "true_optimum": answer.true_optimum.model_dump(mode="json"),
            "original": answer.reward_optimum.model_dump(mode="json"),
            "proposed": view(*best).model_dump(mode="json"),
        },
    }


def _interval(values: list[float]) -> ABInterval:
    if not values:
        return ABInterval(mean=None, low=None, high=None, n=0)
    mean, bounds = mean_ci(np.asarray(values, dtype=float))
    low, high = (None if not np.isfinite(x) else round(float(x), 6) for x in bounds)
    return ABInterval(mean=round(mean, 6), low=low, high=high, n=len(values))


def compare(runs: list[ArmResult], seeds: list[int]) -> list[ABComparison]:
    by = {(r.arm, r.seed): r for r in runs}
    out = []
    for metric in METRICS:
        pairs = [
            (getattr(by[("original", s)], metric), getattr(by[("proposed", s)], metric))
            for s in seeds
            if ("original", s) in by and ("proposed", s) in by
        ]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        out.append(
            ABComparison(
                metric=metric,
                original=_interval([a for a, _ in pairs]),
                proposed=_interval([b for _, b in pairs]),
                difference=_interval([b - a for a, b in pairs]),
            )
        )
    return out


def run_ab(payload: dict[str, Any], progress: Progress | None = None) -> ABResult:
    """Train every (arm, seed) and compare (called by the job and by bench/reward_ab.py)."""
    from capabilities.training.service import train

    settings = ABSettings.model_validate(payload["settings"])
    mode, began = payload["mode"], time.perf_counter()
    seeds = [settings.first_seed + k * SEED_STRIDE for k in range(settings.seeds)]
    runs: list[ArmResult] = []
    for k, seed in enumerate(seeds):
        for j, arm in enumerate(ARMS):
            spec = settings.training_spec(
                mode, payload["rewards"][arm], seed, payload["gammas"][arm]
            )
            runs_done = 2 * k + j

            def within(share: float, message: str, done: int = runs_done) -> None:
                if progress is not None:
                    progress((done + share) / (2 * len(seeds)),
                             f"run {done + 1} of {2 * len(seeds)}: {message}")  # fmt: skip

            result = train(spec, progress=within)
            e = result.final
            runs.append(
                ArmResult(
                    arm=arm,
                    seed=seed,
                    pnl_per_round=round(e.pnl.mean, 6),
                    win_rate=None if e.win_rate is None else round(e.win_rate.mean, 6),
                    bets_per_round=round(e.bets_per_round.mean, 6),
                    expected_pnl_per_round=None
                    if e.expected_pnl is None
                    else round(e.expected_pnl.mean, 6),
                    regret=None if e.regret is None else round(e.regret.mean, 6),
                    train_seconds=round(result.seconds, 2),
                )
            )
            if progress is not None:
                progress((runs_done + 1) / (2 * len(seeds)),
                         f"{runs_done + 1} of {2 * len(seeds)} runs trained")  # fmt: skip
    return ABResult(
        mode=mode,
        steps=settings.steps,
        seeds=seeds,
        gammas=payload["gammas"],
        runs=runs,
        comparisons=compare(runs, seeds),
        exact=payload["exact"],
        load_average=[round(x, 2) for x in os.getloadavg()],
        seconds=round(time.perf_counter() - began, 2),
    )


@handler(KIND)
def ab_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    return run_ab(payload, progress).model_dump(mode="json")
