"""What the analyst's endpoints take and answer: `POST /v1/analyst/explain` and the
surrogate fit of a bot's logged decisions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from capabilities.engines.rules import cross_field_rules, rule_broken
from capabilities.engines.runtime import Answer
from capabilities.engines.state import EnvAction, Feature, GameState, Probability
from game.observation import FEATURES

ActionName = Literal["hold", "buy", "sell", "sidebet"]


class ExplainRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "dependentRequired": {"observation": ["bot_id"]},
            **cross_field_rules(
                "observation needs bot_id (not null): the bot's surrogate reads it",
                "observation has as many values as that surrogate has features",
            ),
        },
    )

    state: GameState
    action: ActionName | EnvAction = Field(description="the action taken (names or 0/1)")
    action_probabilities: list[Probability] | None = Field(None, max_length=16)
    reward: float | None = None
    bot_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    observation: list[Feature] | None = Field(
        None, max_length=64, description="the bot's observation, for its surrogate"
    )
    stake: float | None = Field(None, gt=0, le=1000)

    @model_validator(mode="after")
    def _observation_with_bot(self) -> ExplainRequest:
        if self.observation is not None and self.bot_id is None:
            raise rule_broken("observation is only used with bot_id (whose surrogate reads it)")
        return self


class Driver(BaseModel):
    feature: str
    contribution: float = Field(description="change of the action's probability, surrogate path")


class Change(BaseModel):
    feature: str
    from_value: float
    to_value: float


class Explanation(Answer):
    action: ActionName
    best_action: ActionName
    expected_value: float = Field(description="SOL, of the action taken")
    best_expected_value: float
    cost: float = Field(description="SOL the action gave up against the best (negative: gained)")
    cost_ci95: tuple[float, float]
    decisive: bool
    drivers: list[Driver] | None = None
    surrogate_action: ActionName | None = None
    surrogate_agreement: float | None = Field(None, description="held-out agreement with the bot")
    counterfactual_action: ActionName | None = None
    counterfactual: list[Change] | None = None
    model_version: str
    narrative: str


class LoggedDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observation: list[Feature] = Field(min_length=1, max_length=64)
    action: Literal["hold", "buy", "sell", "sidebet"] | EnvAction


class FitRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=cross_field_rules(
            "every decisions[].observation has the same number of values",
            "feature_names names each of them (may be left out for 15 values: SidebetV1Env's)",
        ),
    )

    bot_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")
    feature_names: list[str] | None = Field(
        None,
        max_length=64,
        description="names of the observation's values (default: SidebetV1Env's 15)",
    )
    decisions: list[LoggedDecision] = Field(
        min_length=50, max_length=20_000, description="logged decisions, oldest first"
    )
    max_depth: int = Field(6, ge=1, le=12)

    @model_validator(mode="after")
    def _shapes(self) -> FitRequest:
        width = len(self.decisions[0].observation)
        for i, d in enumerate(self.decisions):
            if len(d.observation) != width:
                raise rule_broken(
                    f"decisions.{i}.observation has {len(d.observation)} values, not {width}"
                )
        names = self.feature_names or (list(FEATURES) if width == 15 else None)
        if names is None or len(names) != width:
            raise rule_broken(f"feature_names must name each of the {width} observation values")
        self.feature_names = names
        return self


class FitResult(BaseModel):
    bot_id: str
    version: int
    holdout_agreement: float = Field(
        description="share of held-out (newest 30 %) decisions matched"
    )
    majority_agreement: float = Field(
        description="the same for always playing the commonest action"
    )
    train_agreement: float
    n_train: int
    n_holdout: int
    features: list[str]
