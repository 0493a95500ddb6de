"""The hook through which a training run trains on another reward than the bot's own.

Training uses the bot's reward (GAME.md) unless the spec carries a `reward` object. The
reward-shaping capability owns what such an object means: it registers, once per
process, a factory that wraps the training `VecEnv` so that its rewards follow the spec
(`register_reward_wrapper(factory, validate=...)`). `validate` checks a spec at request
time (raise ValueError naming what is wrong); the factory builds the wrapper when the
run starts. When none is registered at first use, the reward-shaping capability's
(`capabilities.rewards.hook`) is, so every process reads a spec the same way whatever
it imported before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

RewardSpec = dict[str, Any]
RewardWrapperFactory = Callable[[Any, RewardSpec], Any]  # (VecEnv, spec) -> VecEnv
RewardValidator = Callable[[RewardSpec], None]

_lock = threading.Lock()
_hook: tuple[RewardWrapperFactory, RewardValidator | None] | None = None


def register_reward_wrapper(
    factory: RewardWrapperFactory, *, validate: RewardValidator | None = None
) -> None:
    """Install the reward hook (re-registering the same factory is a no-op)."""
    global _hook
    with _lock:
        if _hook is not None and _hook[0] is not factory:
            raise ValueError(f"a reward wrapper is already registered: {_hook[0]!r}")
        _hook = (factory, validate)


def _registered() -> tuple[RewardWrapperFactory, RewardValidator | None]:
    with _lock:
        hook = _hook
    if hook is not None:
        return hook
    import capabilities.rewards.hook  # noqa: F401 - registers the reward specs' hook

    with _lock:
        assert _hook is not None
        return _hook


def validate_reward(spec: RewardSpec) -> None:
    """Raise ValueError when `spec` cannot be trained on in this process."""
    validate = _registered()[1]
    if validate is not None:
        validate(spec)


def wrap_reward(env: Any, spec: RewardSpec | None) -> Any:
    """The training env with `spec`'s reward (unchanged for the default reward)."""
    if spec is None:
        return env
    validate_reward(spec)
    return _registered()[0](env, spec)
