"""PPO on the simulator, fast: `train(spec, *, progress, seed) -> TrainingResult`.

Training steps `n_envs` envs at once (`game.vec_env`, bit-equal to the step envs) with
stable-baselines3 PPO, and measures a learning curve on true economics: every
`evaluation.every_steps` env steps the current policy (its numpy export, exactly what
the service will load) is scored on fixed held-out rounds (`game.evaluation`). Called by
the `training.run` job, by `agent-service train`, by the reward A/B and by benches; a
warm start continues from a stored policy's SB3 zip.

stable-baselines3 and torch are imported when a run starts, never with this module.
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
    """A finished run: the SB3 model, its numpy network, the curve and the facts."""

    model: Any  # stable_baselines3.PPO
    network: PolicyNet
    curve: list[CurvePoint]
    facts: dict[str, Any]
    final: Evaluation
    seconds: float
    steps: int
    extra: dict[str, Any] = field(default_factory=dict)

    def model_zip(self) -> bytes:
        buffer = io.BytesIO()
        self.model.save(buffer)
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


def build_env(spec: TrainingSpec, seed: int) -> tuple[Any, Any | None]:
    """The training VecEnv (scenarios, reward hook, normalization) and its normalizer."""
    from stable_baselines3.common.vec_env import VecNormalize

    from game.vec_env import make_vec_env

    vec = make_vec_env(spec.env, spec.rules(), spec.n_envs, seed)
    if spec.scenarios:
        scenarios = [s.scenario for s in spec.scenarios]
        vec.set_scenarios(scenarios[i] for i in share_envs([s.weight for s in spec.scenarios],
                                                            spec.n_envs))  # fmt: skip
    env = wrap_reward(vec, spec.reward)
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


def train(
    spec: TrainingSpec,
    *,
    progress: Progress | None = None,
    seed: int | None = None,
    on_point: OnPoint | None = None,
    warm_start: bytes | None = None,
    callbacks: Sequence[Any] = (),
) -> TrainingResult:
    """Train PPO as `spec` says (seed: `spec.seed` unless given); `warm_start` is an SB3
    zip to continue from; `callbacks` are extra SB3 callbacks or plain `(locals, globals)
    -> bool` callables (e.g. the client's `CurriculumCallback`)."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback

    seed = spec.seed if seed is None else seed
    torch.set_num_threads(spec.torch_threads)
    env, normalizer = build_env(spec, seed)
    model = build_model(spec, env, seed, warm_start)
    evaluate = _Evaluator(spec)
    curve: list[CurvePoint] = []
    latest: list[Evaluation] = []
    clock = {"eval": 0.0, "started": time.perf_counter()}

    def point(step: int) -> Evaluation:
        began = time.perf_counter()
        evaluation = evaluate(export(model, normalizer))
        latest[:] = [evaluation]
        clock["eval"] += time.perf_counter() - began
        trained = time.perf_counter() - clock["started"] - clock["eval"]
        entry = CurvePoint(step=step, seconds=round(trained, 3), evaluation=evaluation.to_json())
        curve.append(entry)
        if on_point is not None:
            on_point(entry)
        return evaluation

    def report(evaluation: Evaluation, step: int) -> None:
        if progress is not None:
            progress(min(1.0, step / spec.steps),
                     f"{step} of {spec.steps} steps; {_describe(evaluation)}")  # fmt: skip

    class _Curve(BaseCallback):
        """Evaluates when a rollout starts: the network has then been trained on every
        step collected so far (during a rollout it lags one update behind)."""

        def __init__(self) -> None:
            super().__init__()
            self.next_eval = spec.evaluation.every_steps

        def _on_rollout_start(self) -> None:
            if self.num_timesteps >= self.next_eval:
                report(point(self.num_timesteps), self.num_timesteps)
                while self.next_eval <= self.num_timesteps:
                    self.next_eval += spec.evaluation.every_steps
            elif progress is not None:  # every rollout: a stopping job worker hands it back
                progress(
                    self.num_timesteps / spec.steps, f"{self.num_timesteps} of {spec.steps} steps"
                )

        def _on_step(self) -> bool:
            return True

    point(0)
    extra = [c if isinstance(c, BaseCallback) else ConvertCallback(c) for c in callbacks]
    model.learn(total_timesteps=spec.steps, callback=CallbackList([_Curve(), *extra]))
    report(point(model.num_timesteps), model.num_timesteps)
    total = time.perf_counter() - clock["started"]
    seconds = total - clock["eval"]
    facts = {
        "env": spec.env,
        "mode": spec.mode,
        "steps": int(model.num_timesteps),
        "seed": seed,
        "n_envs": spec.n_envs,
        "train_seconds": round(seconds, 2),
        "eval_seconds": round(clock["eval"], 2),
        "steps_per_second": round(model.num_timesteps / max(seconds, 1e-9), 1),
        "torch_threads": spec.torch_threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "ppo": spec.ppo.model_dump(mode="json"),
        "scenarios": [s.scenario.id for s in spec.scenarios or ()],
        "reward": spec.reward or "bot",
        "warm_start": spec.warm_start,
        "target": spec.target().id,
    }
    return TrainingResult(
        model=model,
        network=export(model, normalizer),
        curve=curve,
        facts=facts,
        final=latest[0],
        seconds=seconds,
        steps=int(model.num_timesteps),
    )


def _describe(e: Evaluation) -> str:
    text = f"PnL/round {e.pnl.mean:+.4f}"
    if e.regret is not None and math.isfinite(e.regret.mean):
        text += f", regret {e.regret.mean:.4f}"
    return text
