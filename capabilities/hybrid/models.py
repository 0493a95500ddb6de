"""What the hybrid policy's endpoints take and answer: `POST /v1/hybrid/decide`, its
stats, the decision log the bot sends, and the mode's threshold advice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from capabilities.engines.rules import cross_field_rules, rule_broken
from capabilities.engines.runtime import Answer
from capabilities.engines.state import (
    GAME_ID_PATTERN,
    BotId,
    EnvAction,
    GameState,
    ModeName,
    Probability,
)


class AdviceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ModeName = "classic"
    horizon: int = Field(600, ge=50, le=5000, description="ticks of a round to scan")


class AdviceNarrative(BaseModel):
    """What the language model may return: guidance, and bounded threshold proposals."""

    summary: str = Field(min_length=1, max_length=2000)
    override_confidence: float | None = Field(None, ge=0.6, le=0.99)
    min_loss: float | None = Field(None, ge=0.0, le=1.0)


class Advice(Answer):
    mode: str
    model_version: str
    facts: dict[str, Any]
    guidance: str
    override_confidence: float | None = None
    min_loss: float | None = None


ActionName = Literal["hold", "buy", "sell", "sidebet"]


class RecentTrade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    player_id: str = Field(max_length=200)
    type: Literal["buy", "sell", "short_open", "short_close"]
    amount: float = Field(ge=0, le=1e6, description="SOL")
    tick: int = Field(ge=0, le=5000)


class DecideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: GameState
    rl_action: ActionName | EnvAction = Field(
        description="the RL policy's action: a name, or the sidebet env's 0 (HOLD) / 1 (BET)"
    )
    action_probabilities: list[Probability] | None = Field(None, max_length=16)
    bot_id: BotId
    stake: float | None = Field(None, gt=0, le=1000, description="SOL at stake (default: min bet)")
    leverage: int = Field(1, ge=1, le=5)
    player_id: str | None = Field(
        None, max_length=200, description="the bot's id on the leaderboard (state.leaderboard)"
    )
    recent_trades: list[RecentTrade] | None = Field(
        None, max_length=500, description="other players' latest trades (standard/newTrade)"
    )
    one_sidebet_per_round: bool = Field(
        True,
        description="one sidebet a round (the bot's env): betting now forgoes a later bet",
    )


class DecideResponse(BaseModel):
    decision_id: uuid.UUID
    action: ActionName | Literal[0, 1]
    source: Literal["rl", "agent"]
    critical: bool
    reason: str
    confidence: float
    expected_loss: float = Field(description="SOL the RL action gives up against the best")
    best_action: ActionName
    rules: list[str] = Field(description="hard risk rules that fired")
    model_version: str
    latency_ms: float


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ModeName | None = None
    bot_id: BotId | None = None
    since_hours: float = Field(24.0, gt=0, le=24 * 90)


class BotStats(BaseModel):
    mode: str
    bot_id: str
    decisions: int
    critical: int
    overrides: int
    override_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    overrides_scored: int = Field(description="overrides whose counterfactual is known")
    override_gain_sol: float = Field(description="SOL the scored overrides made over the RL action")
    override_wins: int


class StatsResponse(BaseModel):
    bots: list[BotStats]


class BotDecision(BaseModel):
    """A decision the bot took without the service's answer (it was not asked, too slow
    or down): logged beside the hybrid's own so the decision log is the bot's whole record."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=cross_field_rules(
            "time is within the last 30 days (and at most 5 minutes ahead of the server)"
        ),
    )

    time: AwareDatetime | None = Field(
        None,
        description="when the bot acted, with its UTC offset (default: when received); "
        "within the last 30 days",
    )
    mode: ModeName = "classic"
    game_id: str | None = Field(None, pattern=GAME_ID_PATTERN)
    tick: int = Field(ge=0, le=5000)
    price: float = Field(ge=0, le=1e6)
    stake: float | None = Field(None, gt=0, le=1000)
    rl_action: ActionName | EnvAction
    action: ActionName | EnvAction
    source: Literal["rl", "fallback"] = Field(
        "rl",
        description="rl: the policy's own action; fallback: the service did not answer in "
        "time (logged with source `rl`, the reason prefixed `fallback:`)",
    )
    reason: str = Field("", max_length=500)
    latency_ms: float = Field(0.0, ge=0, le=600_000)

    @field_validator("time")
    @classmethod
    def _recent(cls, value: datetime | None) -> datetime | None:
        """In UTC and recent: the log is a time series, and a row it cannot store would
        hold back the batch it is written in."""
        if value is None:
            return None
        now = datetime.now(UTC)
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # year 1 with a positive offset: before any representable time
            raise rule_broken("must be within the last 30 days") from None
        if not now - timedelta(days=30) <= value <= now + timedelta(minutes=5):
            raise rule_broken("must be within the last 30 days")
        return value


class DecisionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_id: BotId
    decisions: list[BotDecision] = Field(min_length=1, max_length=1000)


class DecisionsAccepted(BaseModel):
    accepted: int = Field(description="decisions queued for the log (written within a second)")
