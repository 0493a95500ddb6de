"""Requests and answers of `/v1/opponents` (strict input: unknown fields are errors)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from capabilities.engines.runtime.spec import Answer
from capabilities.engines.state import ModeName

MAX_BATCH = 100
# `float.hex()~player_id`: no text that a finite-number check reads as NaN or infinity
CURSOR = r"^-?0x[0-9a-f]\.?[0-9a-f]{0,13}p[-+][0-9]{1,4}~.{1,200}$"
# archetype names start with a letter and have a space inside (never read as a number)
ARCHETYPE = r"^[A-Za-z][^\x00-\x1f]* [^\x00-\x1f]*[^\x00-\x1f ]$"


class OpponentArchetype(BaseModel):
    name: str
    probability: float | None = Field(None, description="membership; null: too little data")


class OpponentSummary(BaseModel):
    player_id: str
    username: str | None
    level: int | None
    archetype: OpponentArchetype
    rounds_played: int
    trades: int
    pnl: float


class OpponentList(BaseModel):
    items: list[OpponentSummary]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")


class Opponent(OpponentSummary):
    """A profile: figures with their observation counts and intervals, the archetype
    memberships, the model's accuracy for this player (when measured), live counters."""

    model_id: uuid.UUID
    fitted_at: datetime
    profile: dict[str, Any]
    live: dict[str, Any] | None = Field(None, description="counters kept by the consumer")


class OpponentProfileRequest(BaseModel):
    """The path's player id, as the runtime records and keys the request."""

    player_id: str


class OpponentProfileAnswer(Opponent, Answer):
    """`GET /v1/opponents/{player_id}`: the profile, and with a language model a short
    narrative of the player's psychology in `summary` quoting only the profile's numbers."""


class OpponentListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    archetype: str | None = Field(None, max_length=200, pattern=ARCHETYPE)
    sort: Literal["pnl", "activity"] = "activity"
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(
        None, max_length=300, pattern=CURSOR, description="`next_cursor` of the page before"
    )


class OpponentPosition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qty: float = Field(ge=0, allow_inf_nan=False)
    avg_cost: float = Field(gt=0, allow_inf_nan=False)
    entry_tick: int = Field(ge=0, le=100_000)


class OpponentSidebet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_tick: int = Field(ge=0, le=100_000)
    end_tick: int = Field(ge=0, le=100_000)


class OpponentState(BaseModel):
    """What is known now; leave out what is not known (the model learned with gaps)."""

    model_config = ConfigDict(extra="forbid")

    mode: ModeName = "classic"
    tick: int = Field(ge=0, le=100_000)
    price: float = Field(gt=0, allow_inf_nan=False)
    recent_prices: list[float] | None = Field(
        None,
        max_length=200,
        description="prices of the ticks before this one, oldest first (moves over 1/5/20)",
    )
    peak_price: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="round high so far"
    )
    buys_this_round: int | None = Field(None, ge=0, le=10_000)
    sells_this_round: int | None = Field(None, ge=0, le=10_000)
    sidebet: OpponentSidebet | None = Field(
        None, description="the player's latest sidebet this round"
    )
    sidebets_this_round: int | None = Field(None, ge=0, le=10_000)


class OpponentPredictItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    player_id: str = Field(min_length=1, max_length=200)
    state: OpponentState
    position: OpponentPosition | None = None
    horizon_ticks: int = Field(10, ge=1, le=200)


class OpponentPredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[OpponentPredictItem] = Field(min_length=1, max_length=MAX_BATCH)


class ActionProbabilities(BaseModel):
    buy: float
    sell: float
    sidebet: float
    none: float


class OpponentPrediction(BaseModel):
    player_id: str
    probabilities: ActionProbabilities
    likely_action: Literal["buy", "sell", "sidebet"] = Field(
        description="the most likely action if the player acts within the horizon"
    )
    basis: Literal["player", "archetype", "population"] = Field(
        description="player: own history; archetype: too little history, the groups' "
        "figures; population: a player never seen"
    )
    archetype: OpponentArchetype | None = None


class OpponentPredictAnswer(BaseModel):
    model_id: uuid.UUID
    items: list[OpponentPrediction]


class OpponentFitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    test_fraction: float = Field(0.3, gt=0.0, lt=1.0, description="later rounds held out")
    min_rounds: int = Field(5, ge=1, le=10_000, description="rounds for an archetype")
    max_groups: int = Field(10, ge=1, le=30)
    max_moments: int = Field(100_000, ge=1_000, le=2_000_000, description="training moments")
    max_iter: int = Field(
        60,
        ge=5,
        le=1_000,
        description="boosting iterations at most; the fit keeps as many as give the least "
        "log loss on the later rounds of its time split",
    )
    since: datetime | None = Field(None, description="only rounds started from then")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class OpponentFitAccepted(BaseModel):
    job_id: uuid.UUID
    status_url: str


class OpponentModelInfo(BaseModel):
    model_id: uuid.UUID
    fitted_at: datetime
    rounds: int
    players: int
    summary: dict[str, Any] = Field(description="evaluation, archetypes, options, timings")
