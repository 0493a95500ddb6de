"""Training on a reward spec: the training lab's reward hook (`capabilities.training.rewards`).

Importing this module registers it; the training lab imports it on first use of a
`reward`, so every process reads a spec the same way. The wrapper itself
(`vec_wrapper`, stable-baselines3) loads only when a run starts.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from capabilities.training.rewards import register_reward_wrapper
from game.reward_spec import RewardSpec


def parse(spec: dict[str, Any]) -> RewardSpec:
    """The spec, or ValueError naming each bad field (e.g. `terminal.skip.1.max_ticks`)."""
    try:
        return RewardSpec.model_validate(spec)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'reward'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"invalid reward spec: {problems}") from None


def validate(spec: dict[str, Any]) -> None:
    parse(spec)


def wrap(env: Any, spec: dict[str, Any]) -> Any:
    """The training VecEnv paying `spec` instead of the env's own reward."""
    from capabilities.rewards.vec_wrapper import SpecRewardVecEnv

    return SpecRewardVecEnv(env, parse(spec))


register_reward_wrapper(wrap, validate=validate)
