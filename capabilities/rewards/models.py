"""`POST /v1/rewards/review`: a sidebet reward spec in, its exact review out; the A/B job."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from capabilities.engines.rules import cross_field_rules, rule_broken
from capabilities.engines.runtime import Answer
from capabilities.engines.state import ModeName
from capabilities.training.models import PPOSettings, TrainingSpec
from game.reward_spec import RewardSpec

BOT_GAMMA = 0.99
"""The bot's PPO discount (GAME.md)."""


class ABSettings(BaseModel):
    """PPO under the original and the proposed reward, paired by training seed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=cross_field_rules(
            "ppo.n_steps is a multiple of n_envs; ppo.batch_size <= ppo.n_steps",
        ),
    )

    seeds: int = Field(5, ge=5, le=20, description="training seeds per arm (paired)")
    first_seed: int = Field(0, ge=0, le=2**30)
    steps: int = Field(50_000, ge=1_000, le=2_000_000, description="env steps per run")
    n_envs: int = Field(16, ge=1, le=256)
    eval_rounds: int = Field(2000, ge=50, le=20_000, description="held-out rounds scored")
    ppo: PPOSettings = Field(
        default_factory=PPOSettings,
        description="both arms' PPO settings (the proposed arm uses the proposal's gamma)",
    )
    proposed: RewardSpec | None = Field(None, description="default: the review's proposal")
    proposed_gamma: float | None = Field(
        None, ge=0.5, le=1.0, description="default: the proposal's discount"
    )
    torch_threads: int = Field(1, ge=1, le=8)

    @model_validator(mode="after")
    def _trainable(self) -> ABSettings:
        try:
            self.training_spec("classic", None, self.first_seed, self.ppo.gamma)
        except ValidationError as exc:
            raise rule_broken(exc.errors()[0]["msg"]) from None
        return self

    def training_spec(
        self, mode: str, reward: dict[str, Any] | None, seed: int, gamma: float
    ) -> TrainingSpec:
        """One arm's run: scored once at the end on the held-out rounds."""
        return TrainingSpec.model_validate(
            {
                "name": "rewards.ab",
                "mode": mode,
                "steps": self.steps,
                "seed": seed,
                "n_envs": self.n_envs,
                "ppo": self.ppo.model_dump() | {"gamma": gamma},
                "evaluation": {"every_steps": self.steps, "rounds": self.eval_rounds},
                "reward": reward,
                "torch_threads": self.torch_threads,
            }
        )


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward: RewardSpec | None = Field(
        None, description="the reward to review (default: the bot's own, GAME.md)"
    )
    mode: ModeName = Field("classic", description="the game mode the bot trains and plays in")
    gamma: float = Field(
        BOT_GAMMA, ge=0.5, le=1.0, description="the learner's discount (the bot's PPO: 0.99)"
    )
    ab: ABSettings | None = Field(None, description="also start an A/B training job")
    include_tables: bool = Field(
        False, description="add the per-tick tables the client's SpecReward needs"
    )


class RewardPolicy(BaseModel):
    """A bet rule and what it earns in money, per round (per SOL staked)."""

    description: str
    first_bet_tick: int | None = Field(description="the tick it bets at (None: never)")
    bets_per_round: float = Field(description="share of rounds that reach that tick")
    win_rate: float | None = Field(description="of the bets it places")
    pnl_per_round: float = Field(description="expected profit per round, SOL per SOL staked")
    expected_reward: float | None = Field(
        None, description="its expected (discounted) reward per round under the reward solved"
    )


class TermReview(BaseModel):
    term: str = Field(description="where in the spec, e.g. terminal.skip[1]")
    pays: float | str
    money: float | str = Field(description="what true economics pays there (at the spec's scale)")
    pays_for: Literal["money", "other", "policy_invariant"]
    ev_lost_without: float = Field(
        description="EV lost per round when only this term is set to its money value"
    )
    note: str


class RewardVariant(BaseModel):
    name: str
    reward: RewardSpec
    gamma: float
    optimum: RewardPolicy
    ev_lost_per_round: float


class RewardProposal(BaseModel):
    reward: RewardSpec
    gamma: float = Field(description="the discount to train with")
    optimum: RewardPolicy
    ev_lost_per_round: float
    shaping_keeps_policy: bool = Field(
        description="the exact optimum with and without the shaping term is the same bet rule"
    )
    proof_obligation: list[str]
    variants: list[RewardVariant]


class ABAccepted(BaseModel):
    job_id: uuid.UUID
    status_url: str
    result_url: str


class RewardReview(Answer):
    mode: str
    gamma: float
    reward: RewardSpec
    true_optimum: RewardPolicy
    reward_optimum: RewardPolicy
    ev_lost_per_round: float = Field(
        description="true optimum minus the reward optimum's expected profit, SOL per round"
    )
    terms: list[TermReview]
    findings: list[str]
    proposal: RewardProposal
    ab: ABAccepted | None = None
    tables: dict[str, Any] | None = None
    method: str


class ArmResult(BaseModel):
    arm: Literal["original", "proposed"]
    seed: int
    pnl_per_round: float
    win_rate: float | None
    bets_per_round: float
    expected_pnl_per_round: float | None
    regret: float | None
    train_seconds: float


class ABInterval(BaseModel):
    mean: float | None
    low: float | None
    high: float | None
    n: int


class ABComparison(BaseModel):
    metric: str
    original: ABInterval
    proposed: ABInterval
    difference: ABInterval = Field(description="proposed - original, paired by seed, 95 % t")


class ABResult(BaseModel):
    mode: str
    steps: int
    seeds: list[int]
    gammas: dict[str, float]
    runs: list[ArmResult]
    comparisons: list[ABComparison]
    exact: dict[str, Any] = Field(description="the review's exact optimum of each arm's reward")
    load_average: list[float]
    seconds: float


class ABStatus(BaseModel):
    job_id: uuid.UUID
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    message: str | None
    error: str | None
    result: ABResult | None
