"""`POST /v1/meta/adapt` and `POST /v1/meta/transfer`: requests and answers."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, model_validator

from capabilities.engines.rules import cross_field_rules, rule_broken
from capabilities.engines.runtime import Answer
from capabilities.engines.state import ModeName
from capabilities.training.models import (
    POLICY_ID_PATTERN,
    EvaluationSettings,
    PPOSettings,
    TrainingSpec,
)

MODE_PATTERN = r"^[a-z][a-z0-9_]*$"


class AdaptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ModeName = Field(description="the target mode, to estimate with the others' help")
    sources: list[str] | None = Field(
        None,
        max_length=100,
        description="the modes to borrow from (default: every other mode with stored rounds)",
        json_schema_extra={"items": {"type": "string", "pattern": MODE_PATTERN}},
    )
    max_rounds: int = Field(5000, ge=10, le=200_000, description="latest rounds used per mode")


class ParameterEstimate(BaseModel):
    """One parameter of the target: its own estimate, pooled, and what was borrowed."""

    own: float | None = Field(description="from the target's rounds alone (null: none)")
    own_ci95: list[float] | None
    pooled: float = Field(description="posterior mean, pooled across modes")
    pooled_ci95: list[float]
    weight_on_others: float = Field(description="share of the pooled estimate from other modes")
    rounds_to_dominate: float | None = Field(
        description="rounds of its own after which the target's data outweigh the others'"
    )
    resembles: dict[str, float] = Field(
        description="posterior weight per source mode (its twin), `all_modes` (the "
        "exchangeable prior) and `unlike_any` (a vague prior), largest first"
    )


class SourceMode(BaseModel):
    mode: str
    rounds: int
    hazard: float = Field(description="rugs per tick at risk")
    drift: float = Field(description="mean return per tick")


class TrajectoryPoint(BaseModel):
    """The target's estimates after its first `rounds` rounds (oldest first)."""

    rounds: int
    hazard: ParameterEstimate
    drift: ParameterEstimate


class PriorFit(BaseModel):
    twin_spread: float = Field(description="how far a mode sits from its twin (hazard: relative)")
    twins: float = Field(description="prior share of the twin components")
    all_modes: float
    unlike_any: float


class AdaptAnswer(Answer):
    mode: str
    rounds: int = Field(description="the target's stored rounds used")
    served_as: str = Field(description="what the model registry serves: rules, pooled or fitted")
    hazard: ParameterEstimate = Field(description="rug hazard per tick")
    drift: ParameterEstimate = Field(description="mean price return per tick")
    sources: list[SourceMode]
    prior: dict[str, PriorFit] = Field(description="per parameter, the fitted mixture prior")
    trajectory: list[TrajectoryPoint] = Field(description="estimates as the rounds accumulated")
    chart_url: str | None = Field(None, description="SVG: estimate vs rounds, pooled vs own")


class TransferRequest(BaseModel):
    """Two PPO runs on the target mode, one warm-started, one from scratch."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=cross_field_rules("n_steps is a multiple of n_envs")
    )

    mode: ModeName = Field(description="the target mode to train a sidebet_v1 policy for")
    source_policy: str | None = Field(
        None,
        pattern=POLICY_ID_PATTERN,
        description="the policy to warm-start from (default: the shipped baseline of the "
        "source mode the target's hazard resembles most)",
    )
    steps: int = Field(20_000, ge=1_000, le=1_000_000, description="env steps per run")
    n_envs: int = Field(8, ge=1, le=64)
    n_steps: int = Field(512, ge=16, le=65_536, description="PPO rollout size, all envs")
    every_steps: int = Field(2_000, ge=500, le=1_000_000, description="curve resolution")
    eval_rounds: int = Field(300, ge=50, le=5000)
    target_share: float = Field(
        0.9, gt=0, le=1, description="a run has converged at this share of the oracle's value"
    )
    learning_rate: float = Field(3e-4, gt=0, le=0.1, description="PPO's, both arms")
    warm_learning_rate: float | None = Field(
        None,
        gt=0,
        le=0.1,
        description="the warm arm's own learning rate, to fine-tune the source gently "
        "(default: learning_rate)",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _rollout(self) -> TransferRequest:
        if self.n_steps % self.n_envs:
            raise rule_broken("n_steps must be a multiple of n_envs")
        return self

    def arm_learning_rate(self, warm: bool) -> float:
        """The warm arm may fine-tune at its own rate; scratch always learns at the base."""
        return (self.warm_learning_rate or self.learning_rate) if warm else self.learning_rate

    def spec(self, warm_start: str | None) -> TrainingSpec:
        """The training run: the same for both arms but the starting network (and the
        learning rate, where the warm arm has its own)."""
        return TrainingSpec(
            name=f"meta transfer {self.mode} ({'warm' if warm_start else 'scratch'})",
            mode=self.mode,
            steps=self.steps,
            seed=self.seed,
            n_envs=self.n_envs,
            ppo=PPOSettings(
                learning_rate=self.arm_learning_rate(warm=warm_start is not None),
                n_steps=self.n_steps,
                batch_size=min(64, self.n_steps),
            ),
            evaluation=EvaluationSettings(every_steps=self.every_steps, rounds=self.eval_rounds),
            warm_start=warm_start,
        )


class TransferAccepted(BaseModel):
    job_id: uuid.UUID
    status_url: str
