"""`POST /v1/curriculum/next`: what a bot reports, and the scenarios it should train on."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from capabilities.engines.runtime import Answer
from capabilities.engines.state import ModeName
from capabilities.training.models import POLICY_ID_PATTERN
from game.scenarios import Scenario

BetTick = Annotated[int, Field(ge=0, le=4999)]  # a tick before the 5000-tick cap


class ScenarioResult(BaseModel):
    """Episodes a bot played on one scenario around one point of its training."""

    model_config = ConfigDict(extra="forbid")

    scenario: Scenario
    step: int = Field(ge=0, le=10**10, description="the bot's training env steps at the time")
    bet_ticks: list[BetTick | None] = Field(
        min_length=1,
        max_length=20_000,
        description="per episode, the tick the bot placed its sidebet (null: none)",
    )


class CurriculumRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ModeName = Field("rising_hazard", description="the target: the mode to master")
    policy_id: str | None = Field(
        None,
        pattern=POLICY_ID_PATTERN,
        description="measure this stored policy's regret on every scenario now",
    )
    policy_step: int | None = Field(
        None, ge=0, description="the policy's training steps (default: from its facts)"
    )
    results: list[ScenarioResult] = Field(
        default_factory=list, max_length=2000, description="the bot's recent per-scenario results"
    )
    scenarios: list[Scenario] | None = Field(
        None, max_length=200, description="the scenarios to choose from (default: a grid)"
    )
    count: int = Field(8, ge=1, le=200, description="how many scenarios to return")
    stale_share: float = Field(0.2, ge=0, le=1, description="share kept for stale scenarios")
    temperature: float = Field(0.5, gt=0, le=10, description="rank prioritization temperature")
    min_relevance: float = Field(
        0.9, ge=0, le=1, description="scenarios whose optimum serves the target less are left out"
    )
    eval_rounds: int = Field(300, ge=50, le=1000, description="rounds per scenario for policy_id")
    per_step: bool = Field(
        True,
        description="rank by learning potential per env step: divided by the scenario's "
        "expected episode length (exact), so a scenario whose episodes are mostly decisions "
        "is worth more than one whose episodes wait through ticks where nothing can be done",
    )
    min_episodes: int = Field(
        32,
        ge=1,
        le=5000,
        description="a scenario's consecutive reports are pooled until they hold this many "
        "episodes before they count as one measurement (fewer make the ranking follow noise)",
    )
    max_share: float = Field(
        0.25, gt=0, le=1, description="the largest share of the episodes one scenario gets"
    )


class Estimate(BaseModel):
    mean: float
    low: float | None
    high: float | None


class ScenarioAdvice(BaseModel):
    scenario: Scenario
    id: str
    probability: float = Field(description="share of the next episodes to play on it")
    step_share: float = Field(
        description="share of the next env steps that gives it (with per_step: its "
        "priority; the episode share is this over its expected episode length)"
    )
    regret: Estimate | None = Field(description="SOL per round below the oracle, latest")
    trend_per_10k_steps: float | None = Field(description="change of regret (negative: falling)")
    relevance: float = Field(description="share of the target's oracle value its optimum keeps")
    steps_since_trained: int | None
    reason: str


class CurriculumAnswer(Answer):
    mode: str
    target_oracle_value: float
    scenarios: list[ScenarioAdvice]
    left_out: list[ScenarioAdvice] = Field(
        description="scenarios whose optimum would not serve the target (relevance too low)"
    )
    method: str
