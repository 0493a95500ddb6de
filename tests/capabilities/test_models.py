"""The fitted game models recover the true rules of simulated modes, with honest intervals."""

from __future__ import annotations

import numpy as np
import pytest

from capabilities.engines.game_models.ev import Position, evaluate
from capabilities.engines.game_models.hazard import fit_hazard, wilson
from capabilities.engines.game_models.price import fit_price
from capabilities.engines.game_models.truth import TrueHazard, TruePrice, economics
from game.rules import load_mode
from game.simulator import simulate_rounds


@pytest.fixture(scope="module")
def classic_rounds():
    return simulate_rounds(load_mode("classic"), 2000, seed=11)


@pytest.fixture(scope="module")
def rising_rounds():
    return simulate_rounds(load_mode("rising_hazard"), 2000, seed=12)


def test_wilson_interval_contains_the_proportion_and_stays_in_bounds():
    lo, hi = wilson(0, 100)
    assert lo == 0.0 and 0.0 < hi < 0.05
    lo, hi = wilson(50, 100)
    assert lo < 0.5 < hi


def test_constant_hazard_is_recognised_on_classic_rounds(classic_rounds):
    model = fit_hazard(classic_rounds.rug_tick)
    assert model.kind == "constant"
    assert model.rate_low < 0.005 < model.rate_high
    _est, lo, hi = model.rug_within(250, 40)
    assert lo < 1 - 0.995**40 < hi
    assert model.hazard(10) == model.hazard(600)


def test_rising_hazard_is_detected_and_its_trend_is_positive(rising_rounds):
    rules = load_mode("rising_hazard")
    model = fit_hazard(rising_rounds.rug_tick)
    assert model.kind == "monotone"
    assert model.test.trend_z > 0
    assert model.test.trend_p_value < 1e-6
    late_tick = rules.hazard_ramp_start + 100
    assert model.hazard(late_tick)[0] > model.hazard(20)[0]
    true_late = float(rules.hazard(late_tick))
    _est, lo, hi = model.hazard(late_tick)
    assert lo <= true_late <= hi


def test_censored_rounds_count_as_exposure_not_as_rugs():
    ticks = np.array([10, 20, 30, 40])
    model = fit_hazard(ticks, censored=np.array([False, False, False, True]), min_events=1)
    assert model.events == 3
    assert model.exposure == 10 + 20 + 30 + 40


def test_left_truncated_rounds_enter_the_risk_set_where_they_were_first_seen():
    # recordings that begin mid-round keep only rounds still alive then: counted from
    # tick 0 they would add exposure no rug could have been seen in (a hazard too low)
    rng = np.random.default_rng(5)
    rug = rng.geometric(0.005, 20_000)
    first = rng.integers(0, 400, rug.size) * (rng.random(rug.size) < 0.5)
    seen = first < rug
    rug, first = rug[seen], first[seen]
    naive = fit_hazard(rug)
    model = fit_hazard(rug, entry=first)
    assert model.rate_low < 0.005 < model.rate_high
    assert naive.rate_high < 0.005
    assert model.left_truncated == int((first > 0).sum())
    assert model.summary()["left_truncated_rounds"] == model.left_truncated
    assert model.exposure == int((rug - first).sum())


def test_a_round_first_seen_at_its_rug_is_left_out():
    model = fit_hazard(np.array([10, 20]), entry=np.array([0, 20]), min_events=1)
    assert (model.rounds, model.events, model.exposure) == (1, 1, 10)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no rounds"):
        fit_hazard(np.array([], dtype=int))
    with pytest.raises(ValueError, match="start at 1"):
        fit_hazard(np.array([0, 5]))


def test_price_model_recovers_drift_and_big_move_share(classic_rounds):
    rules = load_mode("classic")
    model = fit_price(classic_rounds.prices)
    true_drift = TruePrice(rules).drift_at(1.0)[0]
    assert model.drift_low < true_drift < model.drift_high
    lo, hi = model.big_move_share_ci
    assert lo < rules.big_move_prob < hi
    assert abs(model.normal_mean - (rules.drift_low + rules.drift_high) / 2) < 0.001
    # spread grows with the price level
    assert model.volatility(9.0) > model.volatility(1.0)


def test_high_volatility_mode_has_a_larger_spread():
    calm = fit_price(simulate_rounds(load_mode("classic"), 300, seed=3).prices)
    wild = fit_price(simulate_rounds(load_mode("high_volatility"), 300, seed=3).prices)
    assert wild.volatility(2.0) > calm.volatility(2.0)


def test_engine_on_true_classic_rules_says_stay_out_and_exit():
    rules = load_mode("classic")
    hazard, price, econ = TrueHazard(rules), TruePrice(rules), economics(rules)
    flat = evaluate(Position(tick=50, price=1.3), hazard, price, econ, stake=0.01)
    assert flat.best == "hold"  # every bet is -EV: stay out
    assert flat.value("buy").expected_value < 0
    assert flat.value("sidebet").expected_value < 0
    assert not flat.value("sell").available
    holding = evaluate(Position(tick=50, price=1.3, position_qty=1.0), hazard, price, econ, 0.01)
    assert holding.best == "sell"


def test_sidebet_value_follows_the_payout_semantics():
    total, profit = load_mode("classic"), load_mode("profit_payout")
    state = Position(tick=100, price=2.0)
    ev_total = evaluate(state, TrueHazard(total), TruePrice(total), economics(total), 0.1)
    ev_profit = evaluate(state, TrueHazard(profit), TruePrice(profit), economics(profit), 0.1)
    p = 1 - 0.995**40
    assert ev_total.value("sidebet").expected_value == pytest.approx(0.1 * (4 * p - (1 - p)))
    assert ev_profit.value("sidebet").expected_value > 0
    assert ev_profit.best == "sidebet"


def test_an_active_sidebet_blocks_another_until_its_cooldown_passes():
    rules = load_mode("profit_payout")
    args = (TrueHazard(rules), TruePrice(rules), economics(rules), 0.1)
    active = evaluate(Position(tick=110, price=1.0, sidebet_start_tick=100), *args)
    assert not active.value("sidebet").available
    cooling = evaluate(Position(tick=142, price=1.0, sidebet_start_tick=100), *args)
    assert not cooling.value("sidebet").available
    free = evaluate(Position(tick=150, price=1.0, sidebet_start_tick=100), *args)
    assert free.value("sidebet").available


def _sample_states(rounds, n: int, seed: int) -> list[Position]:
    """States a bot meets: a random live tick of a random round, flat or holding."""
    rng = np.random.default_rng(seed)
    states = []
    while len(states) < n:
        i = int(rng.integers(len(rounds.rug_tick)))
        rug = int(rounds.rug_tick[i])
        if rug < 2:
            continue
        tick = int(rng.integers(0, rug))
        price = float(rounds.prices[i, tick])
        qty = 0.0 if rng.random() < 0.5 else float(rng.uniform(0.01, 1.0)) / max(price, 1e-3)
        states.append(Position(tick=tick, price=price, position_qty=qty))
    return states


@pytest.mark.parametrize(
    "mode", ["classic", "rising_hazard", "fast_rug", "high_volatility", "profit_payout"]
)
def test_fitted_models_choose_the_oracles_action(mode):
    """Fitted on 1,000 rounds, the engine picks the action the true rules pick in >= 95 %
    of 100 held-out states (states whose best two actions are within the models'
    uncertainty are reported apart, and still counted)."""
    rules = load_mode(mode)
    train = simulate_rounds(rules, 1000, seed=100)
    hazard, price = fit_hazard(train.rug_tick), fit_price(train.prices)
    econ = economics(rules)
    truth_h, truth_p = TrueHazard(rules), TruePrice(rules)
    states = _sample_states(simulate_rounds(rules, 400, seed=200), 100, seed=300)
    agree = 0
    for state in states:
        fitted = evaluate(state, hazard, price, econ, stake=0.01)
        oracle = evaluate(state, truth_h, truth_p, econ, stake=0.01)
        agree += fitted.best == oracle.best
    assert agree >= 95, f"{mode}: {agree}/100 agree with the oracle"


def test_tail_probabilities_match_scipy():
    from scipy import stats

    from capabilities.engines.game_models.hazard import chi2_sf, normal_sf

    for df in (1, 2, 3, 7, 10, 51, 200):
        for x in (0.0, 1e-6, 0.3, 1.0, 4.0, 19.5, 80.0, 700.0):
            assert chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9, abs=1e-300)
    for z in (-6.0, -1.0, 0.0, 0.5, 1.96, 8.0):
        assert normal_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-12)
