"""The numpy batch envs (`game.batch_envs`) as a stable-baselines3 `VecEnv`.

    env = make_vec_env("sidebet_v1", load_mode("rising_hazard"), n_envs=16, seed=0)
    PPO("MlpPolicy", env, n_steps=2048 // 16, ...).learn(200_000)

Sub-env i plays what `SidebetV1Env(rules, seed=seed + i)` plays, so `VecEnv.seed(s)`
(SB3: env i gets s + i) and a `DummyVecEnv` of step envs seeded the same way give the
same episodes. Auto-reset as SB3 expects: a finished env's info carries
`terminal_observation` and `TimeLimit.truncated` (always False: rounds end by the rug
or the tick cap of the rules, never by a time limit) and the returned observation is
the next episode's first; infos of finished episodes also carry `pnl`, `bet_tick`,
`bet_won` (sidebet env) or `trades` (trading env), `rug_tick`, `round_index` and, under a
scenario, `scenario` (its id). Infos of other steps are empty (the step envs' running
counters are not needed by SB3 and cost a dict per env per step).

`env_method("set_scenario", scenario, indices=...)` is how a curriculum callback
switches sub-envs to a scenario (from their next episode). stable-baselines3 is imported
here, so this module is for training processes only (the `rl` extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from game.batch_envs import SidebetBatch, TradingBatch, vec_infos
from game.observation import N_FEATURES
from game.rules import GameRules
from game.scenarios import Scenario

EnvName = Literal["sidebet_v1", "trading"]
ENVS: tuple[str, ...] = ("sidebet_v1", "trading")


class GameVecEnv(VecEnv):
    """A `SidebetBatch` or `TradingBatch` behind SB3's `VecEnv` interface."""

    render_mode = None

    def __init__(self, batch: SidebetBatch | TradingBatch) -> None:
        self.batch = batch
        extra = len(TradingBatch.EXTRA_FEATURES) if isinstance(batch, TradingBatch) else 0
        n_actions = len(batch.actions) if isinstance(batch, TradingBatch) else 2
        observation_space = spaces.Box(-np.inf, np.inf, (N_FEATURES + extra,), np.float32)
        super().__init__(batch.n_envs, observation_space, spaces.Discrete(n_actions))
        self._actions = np.zeros(batch.n_envs, dtype=np.int64)

    def reset(self) -> np.ndarray:
        obs = self.batch.reset(self._seeds)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(-1)

    def step_wait(self) -> VecEnvStepReturn:
        step = self.batch.step(self._actions)
        return step.obs, step.reward, step.done, vec_infos(step, self.num_envs)

    def close(self) -> None:
        """Nothing to release: the batch is plain arrays."""

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        envs = self._indices(indices)
        if attr_name == "scenario":
            scenarios = self.batch.scenarios
            return [scenarios[i] for i in envs]
        value = getattr(self.batch if hasattr(self.batch, attr_name) else self, attr_name)
        if isinstance(value, np.ndarray) and value.shape[:1] == (self.num_envs,):
            return [value[i] for i in envs]
        return [value for _ in envs]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"{type(self).__name__} has no per-env attribute {attr_name!r}")

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        envs = self._indices(indices)
        if method_name == "set_scenario":
            self.batch.set_scenario(*method_args, indices=envs, **method_kwargs)
            return [None for _ in envs]
        raise AttributeError(f"{type(self).__name__} supports env_method('set_scenario') only")

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]

    def set_scenarios(self, scenarios: Iterable[Scenario | None]) -> None:
        """One scenario per sub-env (from each env's next episode)."""
        for i, scenario in enumerate(scenarios):
            self.batch.set_scenario(scenario, indices=[i])


def make_vec_env(
    env: EnvName,
    rules: GameRules,
    n_envs: int,
    seed: int = 0,
    *,
    scenario: Scenario | None = None,
    **env_kwargs: Any,
) -> GameVecEnv:
    """The vectorized `SidebetV1Env` ("sidebet_v1") or `TradingEnv` ("trading")."""
    if env == "sidebet_v1":
        return GameVecEnv(SidebetBatch(rules, n_envs, seed, scenario=scenario, **env_kwargs))
    if env == "trading":
        return GameVecEnv(TradingBatch(rules, n_envs, seed, scenario=scenario, **env_kwargs))
    raise ValueError(f"env must be one of {', '.join(ENVS)}, got {env!r}")
