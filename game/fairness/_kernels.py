"""numba kernels of `seedrandom.py` and `engine.py`, line for line (imported lazily by
`fast.py`: importing this module loads numba). Constants are module globals, which numba
freezes into the compiled code."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from game.fairness.engine import (
    BIG,
    BIG_MOVE_MAX,
    BIG_MOVE_MIN,
    BIG_MOVE_PROB,
    DRIFT_MAX,
    DRIFT_MIN,
    GOD,
    GOD_CANDLE_MAX_PRICE,
    GOD_CANDLE_MOVE,
    GOD_CANDLE_PROB,
    MAX_TICKS,
    NORMAL,
    RUG_PROB,
    STARTING_PRICE,
    VOLATILITY,
    VOLATILITY_SQRT_CAP,
)

_SIGNIFICANCE = 1 << 52
_OVERFLOW = 1 << 53


def _jit(**options: Any) -> Any:
    """njit with numba's on-disk cache (beside this file, else the user's cache folder)."""
    return numba.njit(cache=True, **options)


@_jit(inline="always")
def _next_byte(s: np.ndarray, state: np.ndarray) -> int:
    i = (state[0] + 1) & 255
    t = s[i]
    j = (state[1] + t) & 255
    s[i] = s[j]
    s[j] = t
    state[0] = i
    state[1] = j
    return s[(s[i] + t) & 255]


@_jit(inline="always")
def _next_double(s: np.ndarray, state: np.ndarray) -> float:
    n = 0
    for _ in range(6):
        n = (n << 8) | _next_byte(s, state)
    exponent = 48
    x = 0
    while n < _SIGNIFICANCE:
        n = (n + x) << 8
        exponent += 8
        x = _next_byte(s, state)
    while n >= _OVERFLOW:
        n >>= 1
        exponent -= 1
        x >>= 1
    return (n + x) / 2.0**exponent


@_jit(inline="always")
def _seed(units: np.ndarray, key: np.ndarray, s: np.ndarray, state: np.ndarray) -> None:
    key[:] = 0
    smear = 0
    for j in range(len(units)):
        slot = j & 255
        smear ^= key[slot] * 19
        key[slot] = (smear + units[j]) & 255
    length = max(1, min(len(units), 256))
    for i in range(256):
        s[i] = i
    j = 0
    for i in range(256):
        t = s[i]
        j = (j + key[i % length] + t) & 255
        s[i] = s[j]
        s[j] = t
    state[0] = 0
    state[1] = 0
    for _ in range(256):
        _next_byte(s, state)


@_jit()
def replay_kernel(
    units: np.ndarray, unit_offsets: np.ndarray, versions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Round r is seeded with the UTF-16 units `units[unit_offsets[r]:unit_offsets[r+1]]`
    and played by engine `versions[r]` (1, 2, 3). Returns flat prices and moves, the
    offsets of each round in them, and the rug ticks."""
    n_rounds = len(versions)
    capacity = max(1024, 256 * n_rounds)
    prices = np.empty(capacity, dtype=np.float64)
    moves = np.empty(capacity, dtype=np.uint8)
    offsets = np.zeros(n_rounds + 1, dtype=np.int64)
    rugs = np.zeros(n_rounds, dtype=np.int64)
    s = np.empty(256, dtype=np.int64)
    key = np.zeros(256, dtype=np.int64)
    state = np.zeros(2, dtype=np.int64)
    pos = 0
    for r in range(n_rounds):
        _seed(units[unit_offsets[r] : unit_offsets[r + 1]], key, s, state)
        god_candles, capped = versions[r] == 3, versions[r] != 1
        if pos + MAX_TICKS > capacity:  # room for the longest round
            capacity = max(2 * capacity, pos + MAX_TICKS)
            grown = np.empty(capacity, dtype=np.float64)
            grown[:pos] = prices[:pos]
            prices = grown
            grown_moves = np.empty(capacity, dtype=np.uint8)
            grown_moves[:pos] = moves[:pos]
            moves = grown_moves
        price = STARTING_PRICE
        prices[pos] = price
        moves[pos] = NORMAL
        pos += 1
        for _tick in range(1, MAX_TICKS):
            if _next_double(s, state) < RUG_PROB:
                break
            if (
                god_candles
                and _next_double(s, state) < GOD_CANDLE_PROB
                and price <= GOD_CANDLE_MAX_PRICE
            ):
                price = price * GOD_CANDLE_MOVE
                move = GOD
            else:
                if _next_double(s, state) < BIG_MOVE_PROB:
                    size = BIG_MOVE_MIN + _next_double(s, state) * (BIG_MOVE_MAX - BIG_MOVE_MIN)
                    change = size if _next_double(s, state) > 0.5 else -size
                    move = BIG
                else:
                    drift = DRIFT_MIN + _next_double(s, state) * (DRIFT_MAX - DRIFT_MIN)
                    root = math.sqrt(price)
                    if capped and root > VOLATILITY_SQRT_CAP:
                        root = VOLATILITY_SQRT_CAP
                    change = drift + VOLATILITY * root * (2 * _next_double(s, state) - 1)
                    move = NORMAL
                price = price * (1 + change)
                if price < 0:
                    price = 0.0
            prices[pos] = price
            moves[pos] = move
            pos += 1
        offsets[r + 1] = pos
        rugs[r] = pos - offsets[r]
    return prices[:pos], moves[:pos], offsets, rugs
