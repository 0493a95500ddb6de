"""What `POST /v1/coach/strategy` takes and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from capabilities.engines.runtime import Answer
from capabilities.engines.state import GameState

Action = Literal["hold", "buy", "sell", "sidebet"]


class CoachRequest(GameState):
    stake: float | None = Field(
        None, gt=0, le=1000, description="SOL a buy or sidebet would stake (default: min bet)"
    )
    one_sidebet_per_round: bool = Field(
        False,
        description="value waiting for a better tick: true for the bot's env (one bet a round)",
    )


class ActionEstimate(BaseModel):
    action: Action
    available: bool
    expected_value: float = Field(description="expected change of the book, SOL")
    expected_value_ci95: tuple[float, float]
    risk: float = Field(description="standard deviation of the outcome, SOL")
    probability_of_loss: float
    horizon_ticks: int
    note: str = ""
    source: str = "ev_engine"


class Evidence(BaseModel):
    source: str = Field(description="the tool or model that produced these figures")
    figures: dict[str, Any] = Field(default_factory=dict)
    chunks: list[dict[str, Any]] | None = None


class CoachAnswer(Answer):
    recommended_action: Action
    strategy: Literal[
        "aggressive", "conservative", "exit_now", "stay_out", "sidebet", "undecided"
    ] = Field(description="the plan; `undecided` when the best action is not decisive")
    decisive: bool = Field(description="the recommendation wins under every model scenario")
    margin: float = Field(description="expected value of the best minus the runner-up, SOL")
    actions: list[ActionEstimate]
    model_evidence: list[Evidence] = Field(description="the figures behind the numbers, by source")
    model_version: str
    narrative: str
