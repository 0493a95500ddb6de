from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from game.rules import available_modes, load_mode
from game.simulator import RoundStepper, simulate_rounds, simulate_rug_ticks

CLASSIC = load_mode("classic")


def _step_through(rules, seed, index):
    stepper = RoundStepper(rules, seed, index)
    prices = [stepper.price]
    while True:
        result = stepper.step()
        if result.rugged:
            return np.array(prices), result.tick, stepper
        prices.append(result.price)


def test_same_seed_gives_identical_rounds_and_other_seeds_differ():
    a, b = simulate_rounds(CLASSIC, 200, seed=11), simulate_rounds(CLASSIC, 200, seed=11)
    assert np.array_equal(a.prices, b.prices, equal_nan=True)
    assert np.array_equal(a.rug_tick, b.rug_tick) and a.game_ids == b.game_ids
    assert np.array_equal(a.big_move, b.big_move)
    c = simulate_rounds(CLASSIC, 200, seed=12)
    assert not np.array_equal(a.rug_tick, c.rug_tick)
    assert not set(a.game_ids) & set(c.game_ids)
    assert all(len(g) == 25 and g[8] == "-" and int(g[9:], 16) >= 0 for g in a.game_ids)


def test_a_round_depends_only_on_seed_and_index():
    whole = simulate_rounds(CLASSIC, 60, seed=5)
    part = simulate_rounds(CLASSIC, 20, seed=5, first_round=30)
    for i in range(20):
        p_whole, r_whole = whole.round(30 + i)
        p_part, r_part = part.round(i)
        assert r_whole == r_part and np.array_equal(p_whole, p_part)
    assert part.game_ids == whole.game_ids[30:50]
    assert np.array_equal(simulate_rug_ticks(CLASSIC, 60, seed=5), whole.rug_tick)


def test_layout_of_rounds():
    rounds = simulate_rounds(CLASSIC, 300, seed=3)
    assert len(rounds) == 300 and rounds.prices.dtype == np.float64
    assert rounds.prices.shape == (300, rounds.rug_tick.max())
    assert np.all(rounds.prices[:, 0] == 1.0) and np.all(rounds.rug_tick >= 1)
    ticks = np.arange(rounds.prices.shape[1])
    alive = ticks[None, :] < rounds.rug_tick[:, None]
    assert not np.isnan(rounds.prices[alive]).any() and np.isnan(rounds.prices[~alive]).all()
    assert not rounds.big_move[~alive].any() and not rounds.big_move[:, 0].any()
    assert np.array_equal(rounds.peak, np.nanmax(rounds.prices, axis=1))


@pytest.mark.parametrize("mode", available_modes())
def test_stepper_reproduces_the_batch_path(mode):
    rules = load_mode(mode)
    rounds = simulate_rounds(rules, 12, seed=99, first_round=1000)
    for i in range(12):
        prices, rug, stepper = _step_through(rules, 99, 1000 + i)
        expected_prices, expected_rug = rounds.round(i)
        assert rug == expected_rug
        assert np.array_equal(prices, expected_prices)
        assert np.array_equal(stepper.prices, expected_prices)
        assert stepper.game_id == rounds.game_ids[i]
    with pytest.raises(RuntimeError, match="already rugged"):
        stepper.step()


def test_rug_tick_follows_the_geometric_law():
    rug = simulate_rug_ticks(CLASSIC, 100_000, seed=2024)
    # bins of roughly equal probability under Geometric(0.005) on {1, 2, ...}
    edges = np.unique(np.ceil(stats.geom.ppf(np.linspace(0, 1, 41)[1:-1], 0.005))).astype(int)
    counts = np.bincount(np.searchsorted(edges, rug, side="left"), minlength=len(edges) + 1)
    cdf = np.concatenate([[0.0], stats.geom.cdf(edges, 0.005), [1.0]])
    expected = np.diff(cdf) * len(rug)
    assert stats.chisquare(counts, expected).pvalue > 0.001
    assert rug.mean() == pytest.approx(200, rel=0.02)
    # the test has power: a hazard 10 % off is rejected
    wrong = np.diff(np.concatenate([[0.0], stats.geom.cdf(edges, 0.0055), [1.0]])) * len(rug)
    assert stats.chisquare(counts, wrong).pvalue < 1e-6


def test_big_move_share_is_one_eighth():
    rounds = simulate_rounds(CLASSIC, 1500, seed=8)
    moves = int((rounds.rug_tick - 1).sum())  # every tick before the rug tick moved
    share = rounds.big_move.sum() / moves
    se = np.sqrt(0.125 * 0.875 / moves)
    assert abs(share - 0.125) < 3.5 * se, (share, moves)
    changes = rounds.prices[:, 1:] / rounds.prices[:, :-1] - 1
    big = np.abs(changes[rounds.big_move[:, 1:]])
    assert big.min() >= 0.15 - 1e-12 and big.max() <= 0.25 + 1e-12


def test_sidebet_win_rate_matches_one_minus_0995_to_the_40th():
    rug = simulate_rug_ticks(CLASSIC, 100_000, seed=77)
    rng = np.random.default_rng(1)
    start = rng.integers(0, 300, len(rug))  # chosen without looking at the round
    placed = rug > start  # a sidebet needs the round alive at its start tick
    won = (rug <= start + 40)[placed]
    assert placed.sum() > 50_000
    p = 1 - 0.995**40
    assert abs(won.mean() - p) < 3.5 * np.sqrt(p * (1 - p) / len(won)), won.mean()


def test_rising_hazard_actually_rises():
    rules = load_mode("rising_hazard")
    rug = simulate_rug_ticks(rules, 100_000, seed=4)

    def empirical_hazard(lo: int, hi: int) -> tuple[float, float]:
        at_risk = np.clip(rug, lo, hi + 1) - lo  # ticks in [lo, hi] each round was checked
        rugs = ((rug >= lo) & (rug <= hi)).sum()
        return rugs / at_risk.sum(), float(rules.hazard(np.arange(lo, hi + 1)).mean())

    early, early_true = empirical_hazard(1, 200)
    late, late_true = empirical_hazard(250, 260)
    assert early == pytest.approx(early_true, rel=0.05)
    assert late == pytest.approx(late_true, rel=0.2)
    assert late > 2 * early


def test_price_floor_god_candle_tick_cap_and_sqrt_cap():
    crash = CLASSIC.model_copy(
        update={"big_move_prob": 1.0, "big_move_min": 1.0, "big_move_max": 1.5}
    )
    rounds = simulate_rounds(crash, 200, seed=1)
    assert np.nanmin(rounds.prices) == 0.0
    god = CLASSIC.model_copy(update={"god_candle_prob": 1.0, "rug_prob": 1e-9, "max_ticks": 8})
    prices, rug = simulate_rounds(god, 1, seed=1).round(0)
    assert rug == 8 and list(prices[:4]) == [1.0, 10.0, 100.0, 1000.0]
    assert simulate_rounds(god, 1, seed=1).god_candle[0, 1:4].all()
    quiet = {
        "big_move_prob": 0.0,
        "drift_low": 0.0,
        "drift_high": 0.0,
        "vol_coef": 0.01,
        "initial_price": 10_000.0,
        "rug_prob": 1e-9,
        "max_ticks": 2,
    }
    capped = simulate_rounds(CLASSIC.model_copy(update=quiet), 400, seed=3).prices[:, 1]
    uncapped = simulate_rounds(
        CLASSIC.model_copy(update={**quiet, "vol_sqrt_cap": None}), 400, seed=3
    ).prices[:, 1]
    assert np.abs(capped / 10_000 - 1).max() <= 0.1
    assert np.abs(uncapped / 10_000 - 1).max() > 0.5


def test_bad_arguments():
    with pytest.raises(ValueError):
        simulate_rounds(CLASSIC, -1, seed=0)
    assert len(simulate_rounds(CLASSIC, 0, seed=0)) == 0


def test_round_ids_name_the_mode_but_classic_ids_are_unchanged():
    # the ids classic rounds had before ids named their mode: stored data stays valid
    classic = simulate_rounds(CLASSIC, 300, seed=11)
    assert classic.game_ids[0] == "20260101-e12783a2aa5dd772"
    assert classic.game_ids[299] == "20260101-eb7cbc098c82a588"
    seen = set(classic.game_ids)
    for mode in available_modes():
        if mode == "classic":
            continue
        rules = load_mode(mode)
        rounds = simulate_rounds(rules, 300, seed=11)
        assert not seen & set(rounds.game_ids), mode  # one seed, two modes: other rounds
        seen |= set(rounds.game_ids)
        assert _step_through(rules, 11, 7)[2].game_id == rounds.game_ids[7]
