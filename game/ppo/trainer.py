"""PPO in numpy over the batch envs: SB3's algorithm at the bot's settings, without torch.

    env = BatchVecEnv(SidebetBatch(load_mode("rising_hazard"), n_envs=16, seed=0))
    model = PPO(env, PPOConfig(), seed=0)
    model.learn(500_000)
    net = model.policy_net()          # what the service loads (game.policy_net)

What it does is stable-baselines3 PPO's `learn` (v2.x), step for step: rollouts of
`n_steps` env steps over all envs (sampled actions, values, log-probabilities), GAE(lambda)
returns with no bootstrap at episode ends (rounds end by the rug, never truncated), then
`n_epochs` passes over the rollout in shuffled minibatches of `batch_size`, each one
Adam step on the clipped-surrogate + value + entropy loss with the gradient's norm
clipped. Same hyper-parameters, same number of gradient steps per env step. What differs
from SB3: random streams (the initial weights, action samples and shuffles are drawn
from numpy, so a seed gives other, equally distributed, numbers than torch's) and
float64 arithmetic (SB3 computes in float32); `policy_net()` rounds to float32.

Optional `normalize_observations` / `normalize_rewards` are VecNormalize's transforms
(running mean and variance of observations; rewards scaled by the running std of the
discounted return, both clipped at 10).

Callbacks are plain callables `(locals, globals) -> bool` called after every env step
with `locals = {"self": model, "infos": ..., "dones": ...}`, as SB3 calls converted
callables, so the client's `CurriculumCallback` works unchanged (`model.get_env()`,
`model.num_timesteps`, `env.env_method("set_scenario", ...)`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from game.batch_envs import SidebetBatch, TradingBatch, vec_infos
from game.observation import N_FEATURES
from game.policy_net import ObsNormalization, PolicyNet
from game.ppo.net import ActorCritic, Adam, clip_grad_norm, normalized_advantages

Callback = Callable[[dict[str, Any], dict[str, Any]], bool]
CLIP = 10.0
EPSILON = 1e-8


class BatchVecEnv:
    """A batch env with the `VecEnv` calls PPO and curriculum callbacks use (no SB3)."""

    def __init__(self, batch: SidebetBatch | TradingBatch) -> None:
        self.batch = batch
        self.num_envs = batch.n_envs
        trading = isinstance(batch, TradingBatch)
        self.obs_dim = N_FEATURES + (len(TradingBatch.EXTRA_FEATURES) if trading else 0)
        self.n_actions = len(batch.actions) if trading else 2

    def reset(self) -> np.ndarray:
        return self.batch.reset()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        step = self.batch.step(actions)
        return step.obs, step.reward, step.done, vec_infos(step, self.num_envs)

    def env_method(
        self, method_name: str, *args: Any, indices: Sequence[int] | None = None, **kwargs: Any
    ) -> list[None]:
        if method_name != "set_scenario":
            raise AttributeError(f"{type(self).__name__} supports env_method('set_scenario') only")
        self.batch.set_scenario(*args, indices=indices, **kwargs)
        return [None] * (self.num_envs if indices is None else len(indices))


class RunningMeanStd:
    """Running mean and variance of a stream of batches (SB3's, parallel algorithm)."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape)
        self.var = np.ones(shape)
        self.count = 1e-4

    def update(self, batch: np.ndarray) -> None:
        mean, var, n = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta, total = mean - self.mean, self.count + n
        m2 = self.var * self.count + var * n + delta**2 * self.count * n / total
        self.mean = self.mean + delta * n / total
        self.var, self.count = m2 / total, total


@dataclass(frozen=True)
class PPOConfig:
    """SB3 PPO's hyper-parameters; the defaults are the bot's (GAME.md). `n_steps` is the
    rollout over all envs (SB3's per-env n_steps times n_envs)."""

    learning_rate: float = 3e-4
    n_steps: int = 2048
    batch_size: int = 64
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    pi: tuple[int, ...] = (64, 64)
    vf: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    normalize_observations: bool = False
    normalize_rewards: bool = False


@dataclass
class Rollout:
    """One rollout, `[T, N]` arrays (T steps of N envs)."""

    obs: np.ndarray  # [T, N, D] (normalized when the config says so)
    actions: np.ndarray
    rewards: np.ndarray  # (normalized when the config says so)
    dones: np.ndarray  # the episode ended with this step
    values: np.ndarray
    log_probs: np.ndarray
    last_values: np.ndarray  # [N]: values of the observations after the last step

    def advantages(self, gamma: float, gae_lambda: float) -> tuple[np.ndarray, np.ndarray]:
        """GAE(lambda) advantages and returns (advantages + values), as SB3's buffer
        computes them; an ended episode is not bootstrapped (rounds are never cut)."""
        advantages = np.empty_like(self.values)
        gae = np.zeros(self.values.shape[1])
        next_values = self.last_values
        for t in range(len(self.values) - 1, -1, -1):
            alive = 1.0 - self.dones[t]
            delta = self.rewards[t] + gamma * next_values * alive - self.values[t]
            gae = delta + gamma * gae_lambda * alive * gae
            advantages[t], next_values = gae, self.values[t]
        return advantages, advantages + self.values


class PPO:
    """PPO on a `BatchVecEnv`, or any VecEnv-like object (`num_envs`, `reset()`,
    `step(actions) -> (obs, reward, done, infos)`, `obs_dim`/`n_actions` or SB3's
    `observation_space`/`action_space`, e.g. an SB3 VecEnvWrapper)."""

    def __init__(self, env: Any, config: PPOConfig | None = None, seed: int = 0) -> None:
        self.env, self.config = env, config or PPOConfig()
        c, n = self.config, env.num_envs
        if c.n_steps % n:
            raise ValueError(f"n_steps ({c.n_steps}) must be a multiple of n_envs ({n})")
        if c.batch_size > c.n_steps:
            raise ValueError("batch_size must not exceed n_steps")
        self.rng = np.random.default_rng(seed)
        obs_dim = getattr(env, "obs_dim", None) or env.observation_space.shape[0]
        n_actions = getattr(env, "n_actions", None) or env.action_space.n
        self.net = ActorCritic(obs_dim, n_actions, c.pi, c.vf, c.activation, self.rng)
        self.optimizer = Adam(self.net.params, c.learning_rate)
        self.obs_rms = RunningMeanStd((obs_dim,)) if c.normalize_observations else None
        self.ret_rms = RunningMeanStd() if c.normalize_rewards else None
        self._discounted = np.zeros(n)
        self.num_timesteps = 0
        self.n_updates = 0
        self.last_losses: dict[str, float] = {}
        self._obs: np.ndarray | None = None

    def get_env(self) -> Any:
        return self.env

    # ------------------------------------------------------------- normalization

    def _observe(self, raw: np.ndarray) -> np.ndarray:
        obs = np.asarray(raw, dtype=np.float64)
        if self.obs_rms is not None:
            self.obs_rms.update(obs)
            scaled = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + EPSILON)
            obs = np.clip(scaled, -CLIP, CLIP)
        return obs.astype(self.net.dtype)

    def _reward(self, reward: np.ndarray, done: np.ndarray) -> np.ndarray:
        reward = np.asarray(reward, dtype=np.float64)
        if self.ret_rms is None:
            return reward
        self._discounted = self._discounted * self.config.gamma + reward
        self.ret_rms.update(self._discounted)
        scaled = np.clip(reward / np.sqrt(self.ret_rms.var + EPSILON), -CLIP, CLIP)
        self._discounted[done] = 0.0
        return scaled

    def normalization(self) -> ObsNormalization | None:
        """The observation transform the trained network expects (float32, as exported)."""
        if self.obs_rms is None:
            return None
        mean, var = self.obs_rms.mean.astype(np.float32), self.obs_rms.var.astype(np.float32)
        return ObsNormalization(mean, var, EPSILON, CLIP)

    def policy_net(self) -> PolicyNet:
        return self.net.policy_net(self.normalization())

    # ------------------------------------------------------------------ training

    def learn(
        self,
        total_timesteps: int,
        *,
        callbacks: Sequence[Callback] = (),
        on_rollout_start: Callable[[int], None] | None = None,
    ) -> PPO:
        """Train until `total_timesteps` env steps (whole rollouts, as SB3: the total is
        rounded up to a rollout). A callback returning False stops at once.

        BLAS runs on one thread: on these small matrices a second thread only waits
        (OpenBLAS's threads made training 20x slower on the shared 2-core machine)."""
        with threadpool_limits(limits=1, user_api="blas"):
            return self._learn(total_timesteps, callbacks, on_rollout_start)

    def _learn(
        self,
        total_timesteps: int,
        callbacks: Sequence[Callback],
        on_rollout_start: Callable[[int], None] | None,
    ) -> PPO:
        if self._obs is None:
            self._obs = self._observe(self.env.reset())
        while self.num_timesteps < total_timesteps:
            if on_rollout_start is not None:
                on_rollout_start(self.num_timesteps)
            rollout = self._collect(callbacks)
            if rollout is None:
                break
            self._train(rollout)
        return self

    def _collect(self, callbacks: Sequence[Callback]) -> Rollout | None:
        env, n = self.env, self.env.num_envs
        steps = self.config.n_steps // n
        shape = (steps, n)
        obs = np.empty((steps, n, self.net.obs_dim), dtype=self.net.dtype)
        actions = np.empty(shape, dtype=np.int64)
        rewards, values, log_probs = np.empty(shape), np.empty(shape), np.empty(shape)
        dones = np.empty(shape, dtype=bool)
        rows = np.arange(n)
        for t in range(steps):
            current = self._obs
            log_p, value = self.net.heads(current)
            cumulative = np.cumsum(np.exp(log_p), axis=1)
            draw = self.rng.random(n)[:, None]
            action = np.minimum((draw >= cumulative[:, :-1]).sum(axis=1), log_p.shape[1] - 1)
            raw, reward, done, infos = env.step(action)
            self.num_timesteps += n
            obs[t], actions[t], values[t] = current, action, value
            log_probs[t] = log_p[rows, action]
            rewards[t], dones[t] = self._reward(reward, done), done
            self._obs = self._observe(raw)
            if callbacks:
                scope = {"self": self, "infos": infos, "dones": done}
                if not all([cb(scope, {}) is not False for cb in callbacks]):
                    return None
        last_values = self.net.values(self._obs)
        return Rollout(obs, actions, rewards, dones, values, log_probs, last_values)

    def _train(self, r: Rollout) -> None:
        c, net = self.config, self.net
        size, dtype = r.actions.size, net.dtype
        advantages, returns = r.advantages(c.gamma, c.gae_lambda)
        flat = (
            r.obs.reshape(size, -1),
            r.actions.reshape(size),
            r.log_probs.reshape(size).astype(dtype),
            advantages.reshape(size).astype(dtype),
            returns.reshape(size).astype(dtype),
        )
        totals = np.zeros(5)
        for _ in range(c.n_epochs):
            order = self.rng.permutation(size)  # one gather per epoch, then slices
            o, a, lp, adv, ret = (column[order] for column in flat)
            for start in range(0, size, c.batch_size):
                mb = slice(start, start + c.batch_size)
                loss, parts = net.loss_and_grad(
                    o[mb], a[mb], lp[mb], normalized_advantages(adv[mb]), ret[mb],
                    clip_range=c.clip_range, ent_coef=c.ent_coef, vf_coef=c.vf_coef,
                )  # fmt: skip
                clip_grad_norm(net.grad, c.max_grad_norm)
                self.optimizer.step(net.grad)
                totals += (loss, parts.policy, parts.value, parts.entropy, parts.clip_fraction)
            self.n_updates += 1
        steps = c.n_epochs * -(-size // c.batch_size)
        keys = ("loss", "policy_loss", "value_loss", "entropy", "clip_fraction")
        self.last_losses = dict(zip(keys, (totals / steps).tolist(), strict=True))
