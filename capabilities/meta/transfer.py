"""Transfer across modes in the training lab: PPO on the target mode warm-started from
the closest mode's policy against PPO from scratch, on the same seeds and held-out
rounds; the measure is env steps until the policy's expected PnL per round reaches
`target_share` of the oracle's (where the oracle's value is 0, i.e. no bet is +EV,
until its regret is at most 0.005 SOL per SOL staked)."""

from __future__ import annotations

import os
from typing import Any

from capabilities.engines.jobs import Progress, handler
from capabilities.engines.jobs.context import job_database
from capabilities.meta.models import TransferRequest
from capabilities.training.models import CurvePoint
from capabilities.training.service import train
from game.sidebets import default_stake
from tools.policy_store import policy_store

KIND = "meta.transfer"
FAINT_RESEMBLANCE = 0.05
"""A source twin weight below which the target is said to resemble no source."""
ZERO_ORACLE_REGRET = 0.005
"""SOL per SOL staked: the regret that counts as matching an oracle worth nothing."""


def reached(evaluation: dict[str, Any], share: float, stake: float) -> bool:
    """Whether one curve point is within the target of the oracle."""
    oracle = evaluation.get("oracle_value")
    regret = (evaluation.get("regret") or {}).get("mean")
    if oracle is None or regret is None:
        return False
    if oracle > 0:
        return regret <= (1 - share) * oracle
    return regret <= ZERO_ORACLE_REGRET * stake


def first_within(curve: list[CurvePoint], share: float, stake: float) -> int | None:
    """The first evaluated step at which the policy is within the target (None: never);
    `steps_to_target` also asks that it stays there."""
    return next((p.step for p in curve if reached(p.evaluation, share, stake)), None)


def steps_to_target(curve: list[CurvePoint], share: float, stake: float) -> int | None:
    """The first evaluated step from which the policy stays within the target (None:
    never, or it fell back out by the end)."""
    first = None
    for point in curve:
        if reached(point.evaluation, share, stake):
            first = point.step if first is None else first
        else:
            first = None
    return first


def best_share(curve: list[CurvePoint]) -> float | None:
    """The best share of the oracle's value on the curve, in the target's terms:
    1 - regret / the oracle's value (None where that value is 0)."""
    oracle = curve[-1].evaluation.get("oracle_value")
    regrets = [(p.evaluation.get("regret") or {}).get("mean") for p in curve]
    found = [r for r in regrets if r is not None]
    if not oracle or oracle <= 0 or not found:
        return None
    return 1 - min(found) / oracle


def _arm(curve: list[CurvePoint], share: float, stake: float) -> dict[str, Any]:
    last = curve[-1].evaluation
    return {
        "steps_to_target": steps_to_target(curve, share, stake),
        "first_within_target": first_within(curve, share, stake),
        "best_share_of_oracle": best_share(curve),
        "final_expected_pnl": (last.get("expected_pnl") or {}).get("mean"),
        "final_regret": (last.get("regret") or {}).get("mean"),
        "curve": [
            {
                "step": p.step,
                "expected_pnl": (p.evaluation.get("expected_pnl") or {}).get("mean"),
                "regret": (p.evaluation.get("regret") or {}).get("mean"),
            }
            for p in curve
        ],
    }


def compare(
    request: TransferRequest,
    source_policy: str,
    source_zip: bytes,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train both arms and measure each one's steps to the target."""
    stake = default_stake(request.spec(None).rules())
    arms: dict[str, Any] = {}
    oracle = None
    for i, (name, start) in enumerate((("warm", source_zip), ("scratch", None))):

        def report(fraction: float, message: str, i: int = i, name: str = name) -> None:
            if progress is not None:
                progress((i + fraction) / 2, f"{name}: {message}")

        spec = request.spec(source_policy if start else None)
        result = train(spec, progress=report, warm_start=start)
        arms[name] = _arm(result.curve, request.target_share, stake)
        arms[name]["train_seconds"] = round(result.seconds, 2)
        oracle = result.final.oracle_value
    warm, scratch = arms["warm"]["steps_to_target"], arms["scratch"]["steps_to_target"]
    return {
        "mode": request.mode,
        "source_policy": source_policy,
        "engine": request.spec(None).engine,
        "oracle_value": oracle,
        "stake": stake,
        "target": f"{request.target_share:.0%} of the oracle's value"
        if oracle and oracle > 0
        else f"regret <= {ZERO_ORACLE_REGRET} SOL per SOL staked (the oracle's value is 0)",
        "learning_rate": {
            "warm": request.arm_learning_rate(warm=True),
            "scratch": request.arm_learning_rate(warm=False),
        },
        "warm": arms["warm"],
        "scratch": arms["scratch"],
        "steps_saved": None if warm is None or scratch is None else scratch - warm,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


@handler(KIND)
def transfer_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """`payload`: {"request": TransferRequest, "source_policy": id, "source_mode": mode,
    "source_resemblance": the twin weight when the capability picked the source}."""
    request = TransferRequest.model_validate(payload["request"])
    source = str(payload["source_policy"])
    source_zip = policy_store(job_database()).model_zip(source)
    result = compare(request, source, source_zip, progress)
    weight = payload.get("source_resemblance")
    answer = {**result, "source_mode": payload.get("source_mode"), "source_resemblance": weight}
    if weight is not None and weight < FAINT_RESEMBLANCE:
        answer["note"] = (
            f"the target resembles no source mode (the closest, {payload.get('source_mode')}, "
            f"has weight {weight:.2f}): the warm start is from the least unlike one"
        )
    return answer
