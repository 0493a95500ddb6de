"""The surrogate of a bot: agreement on held-out decisions, attributions, counterfactuals
that flip the real bot, and a JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from capabilities.analyst.surrogate import Surrogate, attributions, counterfactual, fit_surrogate

NAMES = ("tick", "price", "volatility_10", "momentum_5", "flag")


def bot(x: np.ndarray) -> int:
    """A known policy: bet late in calm rounds, or on a strong downward move."""
    return int((x[0] >= 200 and x[2] < 0.05) or x[3] < -0.3)


@pytest.fixture(scope="module")
def decisions():
    rng = np.random.default_rng(1)
    n = 3000
    x = np.column_stack(
        [
            rng.integers(0, 400, n),
            rng.lognormal(0, 0.5, n),
            rng.uniform(0, 0.1, n),
            rng.normal(0, 0.2, n),
            rng.integers(0, 2, n),  # a discrete feature the bot ignores
        ]
    ).astype(float)
    return x, np.array([bot(row) for row in x])


def test_the_surrogate_agrees_with_the_bot_on_held_out_decisions(decisions):
    x, y = decisions
    s = fit_surrogate(x, y, NAMES)
    assert s.holdout_agreement >= 0.95
    assert s.holdout_agreement > s.majority_agreement
    assert s.n_holdout == 900


def test_attributions_name_the_features_the_bot_uses(decisions):
    s = fit_surrogate(*decisions, NAMES)
    top = list(attributions(s, np.array([250, 1.0, 0.01, 0.0, 0.0])))[:2]
    assert set(top) <= {"tick", "volatility_10", "momentum_5"}
    assert "flag" not in top


def test_counterfactuals_flip_the_real_bot(decisions):
    x, _ = decisions
    s = fit_surrogate(*decisions, NAMES)
    flipped = total = 0
    for row in x[:200]:
        cf = counterfactual(s, row, frozen=frozenset({"flag"}))
        if cf is None:
            continue
        total += 1
        flipped += bot(cf.state) != bot(row)
        assert "flag" not in cf.changes
    assert total >= 190
    assert flipped / total >= 0.8


def test_json_round_trip_predicts_the_same(decisions):
    x, _ = decisions
    s = fit_surrogate(*decisions, NAMES)
    back = Surrogate.from_json(json.loads(json.dumps(s.to_json())))
    assert (back.predict_many(x[:300]) == s.predict_many(x[:300])).all()


def test_too_few_or_misshapen_decisions_are_refused():
    with pytest.raises(ValueError, match="at least 50"):
        fit_surrogate(np.zeros((10, 5)), np.zeros(10), NAMES)
    with pytest.raises(ValueError, match="must be"):
        fit_surrogate(np.zeros((100, 3)), np.zeros(100), NAMES)
