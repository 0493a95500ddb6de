"""A reward spec paid over the lab's vectorized sidebet env (stable-baselines3 `VecEnv`).

The env's own reward is replaced by `RewardComputer`'s; the tables that paid expected
value and the potential need are the exact ones of the env's mode (a scenario mix uses
the mode's rules). Each finished episode's info keeps the env's own reward as
`env_reward`, so the bot's reward can still be logged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from game.batch_envs import SidebetBatch
from game.reward_spec import RewardComputer, RewardSpec, RewardTables
from game.sidebets import NO_BET


class SpecRewardVecEnv(VecEnvWrapper):
    def __init__(self, venv: VecEnv, spec: RewardSpec) -> None:
        batch = getattr(venv, "batch", None)
        if not isinstance(batch, SidebetBatch):
            raise ValueError("a reward spec applies to the sidebet_v1 env only")
        super().__init__(venv)
        self.spec = spec
        tables = RewardTables.of(batch.rules, bet_start_tick=batch.bet_start_tick)
        self.computer = RewardComputer(spec, venv.num_envs, tables)
        self._obs: np.ndarray | None = None
        self._actions = np.zeros(venv.num_envs, dtype=np.int64)

    def reset(self) -> np.ndarray:
        obs = self.venv.reset()
        self.computer.bet_tick[:] = NO_BET
        self._obs = np.asarray(obs)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(-1)
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        obs, reward, done, infos = self.venv.step_wait()
        assert self._obs is not None, "reset() first"
        rug = np.array([infos[i].get("rug_tick", 0) if done[i] else 0 for i in range(len(done))])
        paid = self.computer.step(self._obs, self._actions, done, rug).astype(np.float32)
        for i in np.flatnonzero(done):
            infos[i]["env_reward"] = float(reward[i])
        self._obs = np.asarray(obs)
        return obs, paid, done, infos

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return self.venv.get_attr(attr_name, indices)
