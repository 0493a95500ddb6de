"""PPO on the simulator, fast: `train(spec, *, progress, seed) -> TrainingResult`.

Training steps `n_envs` envs at once (`game.batch_envs`, bit-equal to the step envs)
with the spec's engine: `numpy`, the lab's PPO in numpy (`game.ppo`: SB3's algorithm at
the same settings, without torch's per-call overhead), or `sb3`, stable-baselines3 PPO
on the same envs as a `VecEnv` (`game.vec_env`). Either way the run measures a learning
curve on true economics: every
`evaluation.every_steps` env steps the current policy (its numpy export, exactly what
the service will load) is scored on fixed held-out rounds (`game.evaluation`). Called by
the `training.run` job, by `agent-service train`, by the reward A/B and by benches; a
warm start continues from a stored policy's SB3 zip.

stable-baselines3 and torch are imported when an sb3 run starts, when a reward spec
wraps the env, or when a numpy run's SB3 zip is written (`model_zip`), never with this
module.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from capabilities.training.models import CurvePoint, TrainingSpec
from capabilities.training.rewards import wrap_reward
from game.policy_net import NetPolicy, ObsNormalization, PolicyNet

if TYPE_CHECKING:  # the envs (gymnasium, the `rl` extra) load when a run starts
    from game.evaluation import Evaluation

Progress = Callable[[float, str], None]
OnPoint = Callable[[CurvePoint], None]


@dataclass
class TrainingResult:
    """A finished run: the trained model, its numpy network, the curve and the facts."""

    model: Any  # game.ppo.PPO (engine numpy) or stable_baselines3.PPO (engine sb3)
    network: PolicyNet
    curve: list[CurvePoint]
    facts: dict[str, Any]
    final: Evaluation
    seconds: float
    steps: int
    spec: TrainingSpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def model_zip(self) -> bytes:
        """An SB3 zip of the policy (`PPO.load` reads it; warm starts resume from it).
        A numpy-engine run's is made by SB3 from its weights (torch loads here, once)."""
        model = self.model
        if not hasattr(model, "save"):
            assert self.spec is not None
            model = sb3_model_of(self.network, self.spec, int(self.facts["seed"]))
        buffer = io.BytesIO()
        model.save(buffer)
        return buffer.getvalue()

    def policy(self, name: str = "trained") -> NetPolicy:
        return NetPolicy(self.network, name)


def share_envs(weights: Sequence[float], n_envs: int) -> list[int]:
    """Which scenario each env plays: envs shared out by weight (largest remainder,
    every scenario at least one env)."""
    w = np.asarray(weights, dtype=float)
    exact = w / w.sum() * n_envs
    counts = np.maximum(1, np.floor(exact).astype(int))
    while counts.sum() > n_envs:  # take from the most over-served that keeps one
        counts[np.argmax(np.where(counts > 1, counts - exact, -np.inf))] -= 1
    while counts.sum() < n_envs:
        counts[np.argmax(exact - counts)] += 1
    return [i for i, c in enumerate(counts) for _ in range(c)]


class _Evaluator:
    """Scores the current policy on the held-out rounds of the target scenario."""

    def __init__(self, spec: TrainingSpec) -> None:
        from game.evaluation import SidebetHeldOut

        self.spec = spec
        self.target = spec.target()
        held = spec.evaluation
        self._sidebet = (
            SidebetHeldOut(self.target, held.rounds, held.seed)
            if spec.env == "sidebet_v1"
            else None
        )

    def __call__(self, network: PolicyNet) -> Evaluation:
        from game.evaluation import evaluate_trading

        policy = NetPolicy(network, "current")
        if self._sidebet is not None:
            return self._sidebet.score(policy)
        held = self.spec.evaluation
        return evaluate_trading(policy, self.target, held.rounds, held.seed)


def export(model: Any, normalizer: Any | None) -> PolicyNet:
    """The numpy network of `model` (with VecNormalize's observation statistics)."""
    from game.policy_net import from_sb3

    norm = None
    if normalizer is not None and normalizer.norm_obs:
        rms = normalizer.obs_rms
        norm = ObsNormalization(
            rms.mean.astype(np.float32),
            rms.var.astype(np.float32),
            float(normalizer.epsilon),
            float(normalizer.clip_obs),
        )
    return from_sb3(model, norm)


def reward_vec_env(spec: TrainingSpec, seed: int) -> Any:
    """The SB3 VecEnv over the batch env: scenarios shared out, the reward hook applied."""
    from game.vec_env import make_vec_env

    vec = make_vec_env(spec.env, spec.rules(), spec.n_envs, seed)
    if spec.scenarios:
        scenarios = [s.scenario for s in spec.scenarios]
        vec.set_scenarios(scenarios[i] for i in share_envs([s.weight for s in spec.scenarios],
                                                            spec.n_envs))  # fmt: skip
    return wrap_reward(vec, spec.reward)


def build_env(spec: TrainingSpec, seed: int) -> tuple[Any, Any | None]:
    """The SB3 training VecEnv (scenarios, reward hook, normalization) and its normalizer."""
    from stable_baselines3.common.vec_env import VecNormalize

    env = reward_vec_env(spec, seed)
    normalizer = None
    if spec.ppo.normalize_observations or spec.ppo.normalize_rewards:
        env = normalizer = VecNormalize(
            env,
            norm_obs=spec.ppo.normalize_observations,
            norm_reward=spec.ppo.normalize_rewards,
            clip_obs=10.0,
            clip_reward=10.0,
            gamma=spec.ppo.gamma,
        )
    return env, normalizer


def build_model(spec: TrainingSpec, env: Any, seed: int, warm_start: bytes | None) -> Any:
    import torch
    from stable_baselines3 import PPO

    ppo = spec.ppo
    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=ppo.learning_rate,
        n_steps=ppo.n_steps // spec.n_envs,
        batch_size=ppo.batch_size,
        n_epochs=ppo.n_epochs,
        gamma=ppo.gamma,
        gae_lambda=ppo.gae_lambda,
        clip_range=ppo.clip_range,
        ent_coef=ppo.ent_coef,
        vf_coef=ppo.vf_coef,
        max_grad_norm=ppo.max_grad_norm,
        policy_kwargs={
            "net_arch": {"pi": list(ppo.net_arch.pi), "vf": list(ppo.net_arch.vf)},
            "activation_fn": torch.nn.Tanh if ppo.activation == "tanh" else torch.nn.ReLU,
        },
        seed=seed,
        device="cpu",
        verbose=0,
    )
    if warm_start is not None:
        previous = PPO.load(io.BytesIO(warm_start), device="cpu")
        try:
            model.policy.load_state_dict(previous.policy.state_dict())
        except RuntimeError as exc:
            raise ValueError(
                f"warm_start: the policy's network does not fit the spec: {exc}"
            ) from None
    return model


class _Curve:
    """The learning curve: evaluates when a rollout starts (the network has then been
    trained on every step collected so far; during a rollout it lags one update
    behind), and reports progress every rollout (a stopping job worker hands it back)."""

    def __init__(
        self,
        spec: TrainingSpec,
        network: Callable[[], PolicyNet],
        progress: Progress | None,
        on_point: OnPoint | None,
    ) -> None:
        self.spec, self.network, self.progress, self.on_point = spec, network, progress, on_point
        self.evaluate = _Evaluator(spec)
        self.points: list[CurvePoint] = []
        self.latest: Evaluation | None = None
        self.next_eval = spec.evaluation.every_steps
        self.eval_seconds = 0.0
        self.started = time.perf_counter()

    def point(self, step: int) -> Evaluation:
        began = time.perf_counter()
        evaluation = self.latest = self.evaluate(self.network())
        self.eval_seconds += time.perf_counter() - began
        trained = time.perf_counter() - self.started - self.eval_seconds
        entry = CurvePoint(step=step, seconds=round(trained, 3), evaluation=evaluation.to_json())
        self.points.append(entry)
        if self.on_point is not None:
            self.on_point(entry)
        return evaluation

    def report(self, evaluation: Evaluation, step: int) -> None:
        if self.progress is not None:
            text = f"{step} of {self.spec.steps} steps; {_describe(evaluation)}"
            self.progress(min(1.0, step / self.spec.steps), text)

    def rollout_start(self, step: int) -> None:
        if step >= self.next_eval:
            self.report(self.point(step), step)
            while self.next_eval <= step:
                self.next_eval += self.spec.evaluation.every_steps
        elif self.progress is not None:
            self.progress(step / self.spec.steps, f"{step} of {self.spec.steps} steps")

    def finish(self, step: int) -> float:
        """The last point; returns the training seconds (evaluations excluded)."""
        self.report(self.point(step), step)
        return time.perf_counter() - self.started - self.eval_seconds


def _learn_sb3(
    spec: TrainingSpec,
    seed: int,
    curve_of: Callable[[Callable[[], PolicyNet]], _Curve],
    warm_start: bytes | None,
    callbacks: Sequence[Any],
) -> tuple[Any, PolicyNet, _Curve]:
    import torch
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback

    torch.set_num_threads(spec.torch_threads)
    env, normalizer = build_env(spec, seed)
    model = build_model(spec, env, seed, warm_start)
    curve = curve_of(lambda: export(model, normalizer))

    class _OnRollout(BaseCallback):
        def _on_rollout_start(self) -> None:
            curve.rollout_start(self.num_timesteps)

        def _on_step(self) -> bool:
            return True

    curve.point(0)
    extra = [c if isinstance(c, BaseCallback) else ConvertCallback(c) for c in callbacks]
    model.learn(total_timesteps=spec.steps, callback=CallbackList([_OnRollout(), *extra]))
    return model, export(model, normalizer), curve


def numpy_config(spec: TrainingSpec) -> Any:
    """The spec's PPO settings for `game.ppo` (the same names and meanings)."""
    from game.ppo import PPOConfig

    ppo = spec.ppo.model_dump(exclude={"net_arch"})
    return PPOConfig(**ppo, pi=tuple(spec.ppo.net_arch.pi), vf=tuple(spec.ppo.net_arch.vf))


def _learn_numpy(
    spec: TrainingSpec,
    seed: int,
    curve_of: Callable[[Callable[[], PolicyNet]], _Curve],
    warm_start: bytes | None,
    callbacks: Sequence[Any],
) -> tuple[Any, PolicyNet, _Curve]:
    from game.ppo import PPO
    from game.sb3_zip import read_sb3_zip

    if any(not callable(c) or hasattr(c, "init_callback") for c in callbacks):
        raise ValueError("engine numpy takes plain (locals, globals) -> bool callbacks only")
    model = PPO(numpy_env(spec, seed), numpy_config(spec), seed=seed)
    if warm_start is not None:
        try:
            model.net.load(read_sb3_zip(warm_start))
        except ValueError as exc:
            raise ValueError(
                f"warm_start: the policy's network does not fit the spec: {exc}"
            ) from None
    curve = curve_of(model.policy_net)
    curve.point(0)
    model.learn(spec.steps, callbacks=callbacks, on_rollout_start=curve.rollout_start)
    return model, model.policy_net(), curve


def numpy_env(spec: TrainingSpec, seed: int) -> Any:
    """The env `game.ppo.PPO` trains on: the batch env itself, or, under a reward spec,
    the SB3 VecEnv the reward hook wraps (stable-baselines3 is then imported, torch
    stays idle); normalization is the trainer's own."""
    from game.batch_envs import SidebetBatch, TradingBatch
    from game.ppo import BatchVecEnv

    if spec.reward is not None:
        return reward_vec_env(spec, seed)
    kind = SidebetBatch if spec.env == "sidebet_v1" else TradingBatch
    env = BatchVecEnv(kind(spec.rules(), spec.n_envs, seed))
    if spec.scenarios:
        scenarios = [s.scenario for s in spec.scenarios]
        for i, k in enumerate(share_envs([s.weight for s in spec.scenarios], spec.n_envs)):
            env.batch.set_scenario(scenarios[k], indices=[i])
    return env


def sb3_model_of(network: PolicyNet, spec: TrainingSpec, seed: int) -> Any:
    """An SB3 PPO of `spec`'s settings carrying `network`'s weights (observation
    normalization stays with the network export: SB3 keeps it outside the zip too)."""
    import torch

    from game.vec_env import make_vec_env

    model = build_model(spec, make_vec_env(spec.env, spec.rules(), spec.n_envs, seed), seed, None)
    names = [f"mlp_extractor.policy_net.{2 * i}" for i in range(len(network.policy_layers))]
    names += ["action_net"]
    names += [f"mlp_extractor.value_net.{2 * i}" for i in range(len(network.value_layers))]
    names += ["value_net"]
    layers = [*network.policy_layers, network.action_head]
    layers += [*network.value_layers, network.value_head]
    state = {}
    for name, (weight, bias) in zip(names, layers, strict=True):
        state[f"{name}.weight"] = torch.from_numpy(np.array(weight, dtype=np.float32))
        state[f"{name}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
    model.policy.load_state_dict(state)
    return model


def train(
    spec: TrainingSpec,
    *,
    progress: Progress | None = None,
    seed: int | None = None,
    on_point: OnPoint | None = None,
    warm_start: bytes | None = None,
    callbacks: Sequence[Any] = (),
) -> TrainingResult:
    """Train PPO as `spec` says (seed: `spec.seed` unless given) with its engine;
    `warm_start` is an SB3 zip to continue from; `callbacks` are plain `(locals, globals)
    -> bool` callables (e.g. the client's `CurriculumCallback`), or SB3 callbacks (engine
    sb3)."""
    seed = spec.seed if seed is None else seed

    def curve_of(network: Callable[[], PolicyNet]) -> _Curve:
        return _Curve(spec, network, progress, on_point)

    learn = _learn_numpy if spec.engine == "numpy" else _learn_sb3
    model, network, curve = learn(spec, seed, curve_of, warm_start, callbacks)
    seconds = curve.finish(model.num_timesteps)
    facts = {
        "env": spec.env,
        "mode": spec.mode,
        "engine": spec.engine,
        "steps": int(model.num_timesteps),
        "seed": seed,
        "n_envs": spec.n_envs,
        "train_seconds": round(seconds, 2),
        "eval_seconds": round(curve.eval_seconds, 2),
        "steps_per_second": round(model.num_timesteps / max(seconds, 1e-9), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "ppo": spec.ppo.model_dump(mode="json"),
        "scenarios": [s.scenario.id for s in spec.scenarios or ()],
        "reward": spec.reward or "bot",
        "warm_start": spec.warm_start,
        "target": spec.target().id,
    }
    if spec.engine == "sb3":
        facts["torch_threads"] = spec.torch_threads
    assert curve.latest is not None
    return TrainingResult(
        model=model,
        network=network,
        curve=curve.points,
        facts=facts,
        final=curve.latest,
        seconds=seconds,
        steps=int(model.num_timesteps),
        spec=spec,
    )


def _describe(e: Evaluation) -> str:
    text = f"PnL/round {e.pnl.mean:+.4f}"
    if e.regret is not None and math.isfinite(e.regret.mean):
        text += f", regret {e.regret.mean:.4f}"
    return text
