"""The bot's 15-feature observation (`SidebetV1Env`), computed from a price history.

One implementation, vectorized over ticks (and over rounds for NaN-padded 2-D input),
serves the gymnasium env, the A/B harness and live callers, so a policy sees the same
numbers in training, in evaluation and in production. Definitions follow the bot's
observation builder: peak and its first tick over the history so far, volatility = the
population std of the last 10 price changes (0 before tick 10), momentum = mean change
over the last 5 ticks (0 before tick 5), velocity = the last change.
"""

from __future__ import annotations

import numpy as np

FEATURES = (
    "tick",
    "price",
    "active",
    "connected_players",
    "running_peak",
    "peak_tick",
    "dist_from_peak",
    "ticks_since_peak",
    "volatility_10",
    "momentum_5",
    "velocity",
    "sidebet_active",
    "ticks_remaining",
    "can_place",
    "bet_allowed",
)
"""Column names of an observation, in order (`bet_allowed` is the bot's `tick >= 200`)."""

N_FEATURES = len(FEATURES)
COLUMN = {name: i for i, name in enumerate(FEATURES)}
BET_START_TICK = 200
"""The bot's env forces HOLD before this tick (its 'optimal zone')."""
CONNECTED_PLAYERS = 100
"""The bot's placeholder for `connected_players` when replaying recorded games."""
VOLATILITY_WINDOW = 10
MOMENTUM_WINDOW = 5


def round_observations(
    prices: np.ndarray,
    *,
    connected_players: float = CONNECTED_PLAYERS,
    bet_start_tick: int = BET_START_TICK,
) -> np.ndarray:
    """Observations at every tick of one round ([T] -> [T, 15]) or of NaN-padded rounds
    ([n, T] -> [n, T, 15]), as seen by a player with no sidebet active.

    Entry [..., t, :] uses prices 0..t only. Entries past a round's rug are meaningless.
    """
    p = np.asarray(prices, dtype=np.float64)
    n_ticks = p.shape[-1]
    ticks = np.arange(n_ticks, dtype=np.float64)
    obs = np.zeros((*p.shape, N_FEATURES), dtype=np.float32)
    peak = np.maximum.accumulate(np.nan_to_num(p, nan=-np.inf), axis=-1)
    earlier_peak = np.concatenate([np.full((*p.shape[:-1], 1), -np.inf), peak[..., :-1]], axis=-1)
    peak_tick = np.maximum.accumulate(np.where(p > earlier_peak, ticks, 0.0), axis=-1)
    changes = np.diff(p, axis=-1)

    obs[..., COLUMN["tick"]] = ticks
    obs[..., COLUMN["price"]] = p
    obs[..., COLUMN["active"]] = 1.0
    obs[..., COLUMN["connected_players"]] = connected_players
    obs[..., COLUMN["running_peak"]] = peak
    obs[..., COLUMN["peak_tick"]] = peak_tick
    with np.errstate(invalid="ignore", divide="ignore"):
        obs[..., COLUMN["dist_from_peak"]] = np.where(peak > 0, (peak - p) / peak, 0.0)
    obs[..., COLUMN["ticks_since_peak"]] = ticks - peak_tick
    obs[..., VOLATILITY_WINDOW:, COLUMN["volatility_10"]] = _rolling_std(changes, VOLATILITY_WINDOW)
    m = MOMENTUM_WINDOW
    obs[..., m:, COLUMN["momentum_5"]] = (p[..., m:] - p[..., :-m]) / m
    obs[..., 1:, COLUMN["velocity"]] = changes
    obs[..., COLUMN["can_place"]] = 1.0
    obs[..., COLUMN["bet_allowed"]] = ticks >= bet_start_tick
    return obs


def _rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Population std of each run of `window` consecutive values along the last axis
    (two passes over shifted views: exact and light on memory for long rounds)."""
    count = x.shape[-1] - window + 1
    if count <= 0:
        return np.zeros((*x.shape[:-1], 0))
    shifted = [x[..., k : k + count] for k in range(window)]
    mean = sum(shifted) / window
    return np.sqrt(sum((s - mean) ** 2 for s in shifted) / window)


def with_sidebet(obs: np.ndarray, sidebet_end_tick: int | None) -> np.ndarray:
    """Fill the sidebet columns (in place) for a bet whose window closes at
    `sidebet_end_tick` (None: no bet); like the bot, `can_place` = active and no bet open."""
    tick = int(obs[COLUMN["tick"]])
    open_bet = sidebet_end_tick is not None and tick < sidebet_end_tick
    obs[COLUMN["sidebet_active"]] = float(open_bet)
    obs[COLUMN["ticks_remaining"]] = float(sidebet_end_tick - tick) if open_bet else 0.0
    obs[COLUMN["can_place"]] = float(obs[COLUMN["active"]] > 0 and not open_bet)
    return obs


def observation_from_prices(
    prices_so_far: np.ndarray,
    tick: int | None = None,
    *,
    active: bool = True,
    connected_players: float = CONNECTED_PLAYERS,
    sidebet_end_tick: int | None = None,
    bet_start_tick: int = BET_START_TICK,
) -> np.ndarray:
    """The observation at `tick` (default: the last price's tick) given the prices at
    ticks 0..len-1; for live callers: pass the round's prices so far, the open sidebet's
    end tick (start + window) if any, and `active=False` once the round has rugged.
    """
    p = np.asarray(prices_so_far, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("prices_so_far must be a non-empty 1-D sequence (ticks 0..t)")
    last = p.size - 1
    tick = last if tick is None else int(tick)
    if tick < last:
        raise ValueError(f"tick {tick} is before the last price's tick {last}")
    obs = round_observations(p, connected_players=connected_players, bet_start_tick=0)[-1]
    obs[COLUMN["tick"]] = tick
    obs[COLUMN["ticks_since_peak"]] = tick - obs[COLUMN["peak_tick"]]
    obs[COLUMN["bet_allowed"]] = float(tick >= bet_start_tick)
    obs[COLUMN["active"]] = float(active)
    return with_sidebet(obs, sidebet_end_tick)


def bet_observations(
    prices: np.ndarray,
    rug_tick: np.ndarray,
    first_tick: int = BET_START_TICK,
    *,
    connected_players: float = CONNECTED_PLAYERS,
    bet_start_tick: int = BET_START_TICK,
    block: int = 1024,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observations, row, tick) at ticks first_tick..rug_tick-1 of each round, row-major
    (each round's ticks in order): what a sidebet policy is asked in a batch. Equal to
    `round_observations` there, but computed over the last ticks only (the running peak
    of the earlier ones carried in), in blocks of rounds of similar length, so a chunk
    costs what its betting ticks cost, not its longest round times its size."""
    prices, rug_tick = np.asarray(prices, dtype=np.float64), np.asarray(rug_tick)
    rows = np.flatnonzero(rug_tick > first_tick)
    rows = rows[np.argsort(rug_tick[rows], kind="stable")]
    parts = []
    for start in range(0, len(rows), block):
        these = rows[start : start + block]
        width = int(rug_tick[these].max())
        obs, r, t = _bet_block(
            prices[these, :width],
            rug_tick[these],
            first_tick,
            connected_players=connected_players,
            bet_start_tick=bet_start_tick,
        )
        parts.append((obs, these[r], t))
    if not parts:
        return _bet_block(prices[:0], rug_tick[:0], first_tick)
    obs, row, tick = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.argsort(row, kind="stable")  # each round's ticks are already in order
    return obs[order], row[order], tick[order]


def _bet_block(
    prices: np.ndarray,
    rug_tick: np.ndarray,
    first_tick: int = BET_START_TICK,
    *,
    connected_players: float = CONNECTED_PLAYERS,
    bet_start_tick: int = BET_START_TICK,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`bet_observations` of rounds of similar length (one matrix as wide as the longest)."""
    prices, rug_tick = np.asarray(prices, dtype=np.float64), np.asarray(rug_tick)
    rows = np.flatnonzero(rug_tick > first_tick)
    lo = max(first_tick - VOLATILITY_WINDOW, 0)
    if rows.size == 0 or prices.shape[1] <= first_tick:
        return np.zeros((0, N_FEATURES), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    head = np.nan_to_num(prices[rows, :lo], nan=-np.inf)
    p = prices[rows, lo:]
    ticks = np.arange(lo, prices.shape[1], dtype=np.float64)
    head_peak = head.max(axis=1) if lo else np.full(len(rows), -np.inf)
    head_tick = head.argmax(axis=1).astype(np.float64) if lo else np.zeros(len(rows))
    peak = np.maximum.accumulate(
        np.maximum(np.nan_to_num(p, nan=-np.inf), head_peak[:, None]), axis=1
    )
    earlier = np.concatenate([head_peak[:, None], peak[:, :-1]], axis=1)
    peak_tick = np.maximum(
        np.maximum.accumulate(np.where(p > earlier, ticks, 0.0), axis=1), head_tick[:, None]
    )
    changes = np.diff(p, axis=1)
    skip = first_tick - lo  # window columns before the first betting tick
    keep = ticks[skip:][None, :] < rug_tick[rows, None]
    r, c = np.nonzero(keep)
    obs = np.zeros((len(r), N_FEATURES), dtype=np.float32)
    at = c + skip
    price, top = p[r, at], peak[r, at]
    obs[:, COLUMN["tick"]] = ticks[at]
    obs[:, COLUMN["price"]] = price
    obs[:, COLUMN["active"]] = 1.0
    obs[:, COLUMN["connected_players"]] = connected_players
    obs[:, COLUMN["running_peak"]] = top
    obs[:, COLUMN["peak_tick"]] = peak_tick[r, at]
    with np.errstate(invalid="ignore", divide="ignore"):
        obs[:, COLUMN["dist_from_peak"]] = np.where(top > 0, (top - price) / top, 0.0)
    obs[:, COLUMN["ticks_since_peak"]] = ticks[at] - peak_tick[r, at]
    if first_tick >= VOLATILITY_WINDOW:
        window = [changes[r, at - VOLATILITY_WINDOW + k] for k in range(VOLATILITY_WINDOW)]
        mean = sum(window) / VOLATILITY_WINDOW
        obs[:, COLUMN["volatility_10"]] = np.sqrt(
            sum((w - mean) ** 2 for w in window) / VOLATILITY_WINDOW
        )
        obs[:, COLUMN["momentum_5"]] = (price - p[r, at - MOMENTUM_WINDOW]) / MOMENTUM_WINDOW
        obs[:, COLUMN["velocity"]] = changes[r, at - 1]
    else:  # early ticks lack the history: the slow path has the edge cases
        full = round_observations(prices[rows], connected_players=connected_players)
        obs[:, COLUMN["volatility_10"]] = full[
            r, ticks[at].astype(np.int64), COLUMN["volatility_10"]
        ]
        obs[:, COLUMN["momentum_5"]] = full[r, ticks[at].astype(np.int64), COLUMN["momentum_5"]]
        obs[:, COLUMN["velocity"]] = full[r, ticks[at].astype(np.int64), COLUMN["velocity"]]
    obs[:, COLUMN["can_place"]] = 1.0
    obs[:, COLUMN["bet_allowed"]] = ticks[at] >= bet_start_tick
    return obs, rows[r], ticks[at].astype(np.int64)
