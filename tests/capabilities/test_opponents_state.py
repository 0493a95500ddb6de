"""The state columns predict builds from an item: what the caller sent, and NaN for what
it left out or what its recent prices do not reach (the model learned with such gaps)."""

from __future__ import annotations

import math

import numpy as np

from capabilities.opponents.models import OpponentPredictItem
from capabilities.opponents.service import state_arrays


def _columns(*items: dict) -> dict[str, list[float]]:
    state = state_arrays([OpponentPredictItem.model_validate(i) for i in items])
    return {name: column.tolist() for name, column in state.items()}


def _same(got: list[float], expected: list[float]) -> bool:
    return all(
        (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
        for a, b in zip(got, expected, strict=True)
    )


def test_recent_prices_give_moves_and_the_high_only_as_far_as_they_reach():
    whole = {"player_id": "a", "state": {"tick": 3, "price": 2.0, "recent_prices": [1.0, 4.0, 1.6]}}
    part = {"player_id": "b", "state": {"tick": 30, "price": 2.0, "recent_prices": [1.0] * 6}}
    bare = {"player_id": "c", "state": {"tick": 30, "price": 2.0}}
    c = _columns(whole, part, bare)
    log2 = math.log(2.0)
    nan = math.nan
    # since the round's start (as many prices as the tick): 5 and 20 back reach its first
    assert _same(c["move_1"], [log2 - math.log(1.6), log2, nan])
    assert _same(c["move_5"], [log2, log2, nan])
    assert _same(c["move_20"], [log2, nan, nan])
    assert _same(c["drawdown"], [0.5, nan, nan])  # the high (4.0) only from a whole history
    assert c["horizon"] == [10.0, 10.0, 10.0]


def test_position_sidebet_and_counts_as_sent_or_unknown():
    held = {
        "player_id": "a",
        "horizon_ticks": 20,
        "state": {"tick": 50, "price": 1.5, "peak_price": 3.0, "buys_this_round": 2,
                  "sells_this_round": 1, "sidebet": {"start_tick": 30, "end_tick": 40},
                  "sidebets_this_round": 1},
        "position": {"qty": 0.5, "avg_cost": 1.2, "entry_tick": 35},
    }  # fmt: skip
    flat = {"player_id": "b", "state": {"tick": 50, "price": 1.5, "sidebets_this_round": 0}}
    c = _columns(held, flat)
    nan = math.nan
    assert c["held"] == [1.0, 0.0]
    assert _same(c["log_multiple"], [math.log(1.5) - math.log(1.2), 0.0])
    assert c["held_ticks"] == [15.0, -1.0]
    assert _same(c["drawdown"], [0.5, nan])
    assert _same(c["buys_so_far"], [2.0, nan]) and _same(c["sells_so_far"], [1.0, nan])
    assert c["sidebet_active"] == [0.0, 0.0]  # over at tick 40; none this round
    assert c["since_sidebet"] == [10.0, -1.0]
    assert c["sidebets_so_far"] == [1.0, 0.0]
    assert c["horizon"] == [20.0, 10.0]
    unknown = _columns({"player_id": "c", "state": {"tick": 5, "price": 1.0}})
    assert all(np.isnan(unknown[k][0]) for k in ("sidebet_active", "since_sidebet"))
