"""The engines against the real rounds, and which modes they can play."""

from __future__ import annotations

import hashlib

import pytest

from game.fairness.engine import BIG, GOD, NORMAL, engine_version, replay
from game.rules import GameRules, load_mode
from tests.game.fairness.conftest import ABOVE_100, GOD_CANDLE


def test_the_three_seeded_real_rounds_replay_exactly(sample_history):
    for entry in sample_history:
        fair = entry["provablyFair"]
        assert hashlib.sha256(fair["serverSeed"].encode()).hexdigest() == fair["serverSeedHash"]
        played = replay(fair["serverSeed"], entry["id"], entry["gameVersion"])
        assert played.rug_tick == len(entry["prices"]) - 1, entry["id"]
        assert played.prices == entry["prices"][:-1], entry["id"]  # every bit
        assert played.peak == entry["peakMultiplier"]


def test_a_god_candle_multiplies_by_ten_and_draws_nothing_more():
    played = replay(*GOD_CANDLE, "v3")
    tick = played.moves.index(GOD)
    assert played.prices[tick] == played.prices[tick - 1] * 10.0
    # v2 has no god-candle draw at all: from tick 1 on its chart is another one
    assert replay(*GOD_CANDLE, "v2").prices[1] != played.prices[1]


def test_v1_differs_from_v2_only_above_100():
    v1, v2 = replay(*ABOVE_100, "v1"), replay(*ABOVE_100, "v2")
    assert v1.rug_tick == v2.rug_tick  # the same draws
    first = next(t for t, (a, b) in enumerate(zip(v1.prices, v2.prices, strict=True)) if a != b)
    assert v2.prices[first - 1] > 100 and v1.prices[:first] == v2.prices[:first]


def test_moves_are_labelled():
    played = replay(*ABOVE_100, "v3")
    assert played.moves[0] == NORMAL and len(played.moves) == played.rug_tick
    big_share = played.moves.count(BIG) / (played.rug_tick - 1)
    assert 0.05 < big_share < 0.25


@pytest.mark.parametrize(("mode", "version"), [("classic", "v3"), ("profit_payout", "v3")])
def test_modes_with_the_documented_chart_are_played_by_v3(mode, version):
    assert engine_version(load_mode(mode)) == version


def test_v2_and_v1_rules_and_modes_no_engine_plays():
    assert engine_version(GameRules(god_candle_prob=0.0)) == "v2"
    assert engine_version(GameRules(god_candle_prob=0.0, vol_sqrt_cap=None)) == "v1"
    for mode, field in [
        ("fast_rug", "rug_prob"),
        ("rising_hazard", "hazard_slope"),
        ("high_volatility", "big_move_prob"),
    ]:
        with pytest.raises(ValueError, match=rf"mode '{mode}' cannot be played.*{field}"):
            engine_version(load_mode(mode))
    with pytest.raises(ValueError, match="vol_sqrt_cap"):
        engine_version(GameRules(vol_sqrt_cap=None))  # god candles without the cap: none


def test_an_unknown_version_is_refused():
    with pytest.raises(ValueError, match="unknown engine version"):
        replay("seed", "20260101-0000000000000000", "v4")  # type: ignore[arg-type]
