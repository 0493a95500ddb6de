"""Fitting a bot's surrogate from its logged decisions (`POST /v1/analyst/fit`)."""

from __future__ import annotations

import numpy as np

from capabilities.analyst.models import FitRequest, FitResult
from capabilities.analyst.store import save_surrogate
from capabilities.analyst.surrogate import fit_surrogate
from capabilities.engines.game_models.ev import ACTIONS
from capabilities.engines.state import action_name
from game.bots import Policy
from game.observation import BET_START_TICK, round_observations
from game.rules import load_mode
from game.simulator import simulate_rounds
from tools.postgres import Database


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
