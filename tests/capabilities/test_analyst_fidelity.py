"""The analyst's surrogate of the committed PPO baseline (acceptance of capability 3):
>= 80 % agreement on held-out decisions, >= 80 % of counterfactuals flip the bot."""

from __future__ import annotations

import numpy as np

from capabilities.analyst.explain import FROZEN
from capabilities.analyst.fit import simulated_decisions
from capabilities.analyst.surrogate import counterfactual, fit_surrogate
from game.observation import FEATURES
from game.rl_baseline import baseline_path, load_policy


def test_surrogate_of_the_ppo_baseline_agrees_and_its_counterfactuals_flip_it():
    path = baseline_path("classic")
    assert path is not None, "the PPO baseline is shipped in game/baselines"
    bot = load_policy(path)
    x, y = simulated_decisions(bot, "classic", rounds=1200, seed=11)
    surrogate = fit_surrogate(x, y, FEATURES)
    assert surrogate.holdout_agreement >= 0.8
    assert surrogate.holdout_agreement > surrogate.majority_agreement

    rng = np.random.default_rng(0)
    held_out = x[surrogate.n_train :]
    checks = held_out[rng.choice(len(held_out), 200, replace=False)]
    found = flipped = 0
    for state in checks:
        cf = counterfactual(surrogate, state, frozen=FROZEN)
        if cf is not None:
            found += 1
            flipped += bot.act(cf.state) != bot.act(state)
    assert found >= 190
    assert flipped / found >= 0.8
