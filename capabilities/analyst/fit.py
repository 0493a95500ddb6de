"""Fitting a bot's surrogate from its logged decisions (`POST /v1/analyst/fit`)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from capabilities.analyst.store import save_surrogate
from capabilities.analyst.surrogate import fit_surrogate
from capabilities.models.ev import ACTIONS
from capabilities.rules import cross_field_rules, rule_broken
from capabilities.state import EnvAction, Feature, action_name
from game.bots import Policy
from game.observation import BET_START_TICK, FEATURES, round_observations
from game.rules import load_mode
from game.simulator import simulate_rounds
from tools.postgres import Database


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


def simulated_decisions(
    policy: Policy, mode: str, rounds: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A sidebet-env bot's decisions logged on simulated rounds, oldest first: its
    observation and action at every tick from 200 (where it may bet) to the rug."""
    sim = simulate_rounds(load_mode(mode), rounds, seed)
    obs = round_observations(sim.prices)
    ticks = np.arange(obs.shape[1])
    live = (ticks[None, :] >= BET_START_TICK) & (ticks[None, :] < sim.rug_tick[:, None])
    x = obs[live]  # row-major: rounds in order
    actions = policy.act_batch(x) if hasattr(policy, "act_batch") else [policy.act(o) for o in x]
    return x, np.asarray(actions)
