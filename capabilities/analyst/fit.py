"""Fitting a bot's surrogate from its logged decisions (`POST /v1/analyst/fit`)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from capabilities.analyst.store import save_surrogate
from capabilities.analyst.surrogate import fit_surrogate
from capabilities.models.ev import ACTIONS
from capabilities.state import Feature, action_name
from tools.postgres import Database

# the bot's SidebetV1Env observation, in order (GAME.md)
SIDEBET_OBSERVATION = (
    "tick", "price", "active", "connected_players", "running_peak", "peak_tick",
    "dist_from_peak", "ticks_since_peak", "volatility_10", "momentum_5", "velocity",
    "sidebet_active", "ticks_remaining", "can_place", "past_tick_200",
)  # fmt: skip


class LoggedDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observation: list[Feature] = Field(min_length=1, max_length=64)
    action: Literal["hold", "buy", "sell", "sidebet", 0, 1]


class FitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
                raise ValueError(
                    f"decisions.{i}.observation has {len(d.observation)} values, not {width}"
                )
        names = self.feature_names or (list(SIDEBET_OBSERVATION) if width == 15 else None)
        if names is None or len(names) != width:
            raise ValueError(f"feature_names must name each of the {width} observation values")
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


def fit_and_store(database: Database, request: FitRequest) -> FitResult:
    x = np.array([d.observation for d in request.decisions], dtype=np.float64)
    y = np.array([ACTIONS.index(action_name(d.action)) for d in request.decisions])
    names = tuple(request.feature_names or ())
    surrogate = fit_surrogate(x, y, names, max_depth=request.max_depth)
    version = save_surrogate(database, request.bot_id, surrogate)
    return FitResult(
        bot_id=request.bot_id,
        version=version,
        holdout_agreement=surrogate.holdout_agreement,
        majority_agreement=surrogate.majority_agreement,
        train_agreement=surrogate.train_agreement,
        n_train=surrogate.n_train,
        n_holdout=surrogate.n_holdout,
        features=list(names),
    )
