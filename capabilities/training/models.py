"""What a training run is asked to do (`TrainingSpec`) and what its API answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from capabilities.engines.rules import cross_field_rules, rule_broken
from capabilities.engines.state import ModeName
from capabilities.training.rewards import validate_reward
from game.rules import GameRules, load_mode
from game.scenarios import Scenario

EnvName = Literal["sidebet_v1", "trading"]
MAX_STEPS = 5_000_000
HELD_OUT_SEED = 1_000_000
"""Default seed of the evaluation rounds; training rounds use seeds seed..seed+n_envs-1."""


Units = Annotated[int, Field(ge=1, le=512)]
"""A hidden layer's size (in the spec, so clients see the bound)."""


class NetArch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pi: list[Units] = Field(default_factory=lambda: [64, 64], min_length=1, max_length=4)
    vf: list[Units] = Field(default_factory=lambda: [64, 64], min_length=1, max_length=4)


class PPOSettings(BaseModel):
    """PPO hyperparameters (an allow-list; defaults are the bot's, GAME.md).

    `n_steps` is the rollout size over all envs (the bot's 2048 with one env): SB3's
    per-env n_steps is `n_steps / n_envs`, so the rollout, and with it every update, stays
    the bot's whatever the number of envs."""

    model_config = ConfigDict(extra="forbid")

    learning_rate: float = Field(3e-4, gt=0, le=0.1)
    n_steps: int = Field(2048, ge=16, le=65_536, description="env steps per rollout, all envs")
    batch_size: int = Field(64, ge=8, le=65_536, description="minibatch size of each update")
    n_epochs: int = Field(10, ge=1, le=50)
    gamma: float = Field(0.99, ge=0.5, le=1.0)
    gae_lambda: float = Field(0.95, ge=0.0, le=1.0)
    clip_range: float = Field(0.2, gt=0.0, le=1.0)
    ent_coef: float = Field(0.0, ge=0.0, le=0.5)
    vf_coef: float = Field(0.5, ge=0.0, le=2.0)
    max_grad_norm: float = Field(0.5, gt=0.0, le=100.0)
    net_arch: NetArch = Field(default_factory=NetArch)
    activation: Literal["tanh", "relu"] = "tanh"
    normalize_observations: bool = Field(
        False, description="VecNormalize on observations (the bot's training script uses it)"
    )
    normalize_rewards: bool = Field(False, description="VecNormalize on rewards")


class EvaluationSettings(BaseModel):
    """The learning curve: a true-economics evaluation on fixed held-out rounds."""

    model_config = ConfigDict(extra="forbid")

    every_steps: int = Field(10_000, ge=500, le=MAX_STEPS)
    rounds: int = Field(2000, ge=50, le=20_000, description="held-out rounds per evaluation")
    seed: int = Field(HELD_OUT_SEED, ge=0, le=2**31 - 1)
    scenario: Scenario | None = Field(
        None, description="where to evaluate (default: the mode's own rules, from tick 0)"
    )


class ScenarioShare(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: Scenario
    weight: float = Field(1.0, gt=0, le=1000)


POLICY_ID_PATTERN = (
    r"^(baseline:[a-z][a-z0-9_]*|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
"""A stored policy's UUID, or `baseline:<mode>` for a shipped baseline."""


class TrainingSpec(BaseModel):
    """One PPO run on the simulator (see docs/training.md)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=cross_field_rules(
            "ppo.n_steps is a multiple of n_envs",
            "ppo.batch_size <= ppo.n_steps",
            "a scenario mix has at most n_envs scenarios, each keeping the mode's max_ticks",
            "evaluation.seed is not a training seed (seed .. seed + n_envs - 1)",
            "a reward is accepted only once the reward-shaping capability registered its spec",
        ),
    )

    name: str | None = Field(None, max_length=200)
    env: EnvName = "sidebet_v1"
    mode: ModeName = "classic"
    scenarios: list[ScenarioShare] | None = Field(
        None,
        max_length=64,
        description="a mix of scenarios (envs are shared out by weight); default: the mode",
    )
    steps: int = Field(100_000, ge=1_000, le=MAX_STEPS, description="budget in env steps")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    n_envs: int = Field(16, ge=1, le=256, description="envs stepped together (vectorized)")
    algorithm: Literal["ppo"] = "ppo"
    engine: Literal["numpy", "sb3"] = Field(
        "numpy",
        description="numpy: the lab's PPO without torch (game.ppo: the same algorithm, "
        "settings and gradient steps; bench/train_throughput.py measures its speed); "
        "sb3: stable-baselines3 PPO",
    )
    ppo: PPOSettings = Field(default_factory=PPOSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    reward: dict[str, Any] | None = Field(
        None, description="a reward spec (default: the bot's own reward, GAME.md)"
    )
    warm_start: str | None = Field(
        None,
        pattern=POLICY_ID_PATTERN,
        description="a policy id to start from (same env and network shape)",
    )
    torch_threads: int = Field(1, ge=1, le=8, description="engine sb3 only")

    @field_validator("reward")
    @classmethod
    def _trainable_reward(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                validate_reward(value)
            except ValueError as exc:
                raise rule_broken(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TrainingSpec:
        if self.ppo.n_steps % self.n_envs:
            raise rule_broken(f"ppo.n_steps ({self.ppo.n_steps}) must be a multiple of n_envs")
        if self.ppo.batch_size > self.ppo.n_steps:
            raise rule_broken("ppo.batch_size must not exceed ppo.n_steps")
        if self.scenarios and len(self.scenarios) > self.n_envs:
            raise rule_broken("a scenario mix needs at least one env per scenario (n_envs)")
        for share in self.scenarios or ():
            if share.scenario.rules.max_ticks != self.rules().max_ticks:
                raise rule_broken("scenarios must keep the mode's max_ticks")
        seed = self.evaluation.seed
        if self.seed <= seed < self.seed + self.n_envs:
            raise rule_broken("evaluation.seed must not be one of the training seeds")
        return self

    def rules(self) -> GameRules:
        return load_mode(self.mode)

    def target(self) -> Scenario:
        """The scenario the curve is measured on."""
        return self.evaluation.scenario or Scenario(mode=self.mode)


class CurvePoint(BaseModel):
    step: int
    seconds: float = Field(description="wall-clock seconds of training so far")
    evaluation: dict[str, Any]


class TrainingRunAccepted(BaseModel):
    job_id: uuid.UUID
    status_url: str
    run_id: uuid.UUID
    run_url: str


class TrainingRun(BaseModel):
    id: uuid.UUID
    name: str | None
    source: str
    env: str
    mode: str
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    message: str | None
    error: str | None
    policy_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    spec: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    curve: list[CurvePoint] | None = None
    curve_svg_url: str | None = None


class TrainingRunList(BaseModel):
    runs: list[TrainingRun]
