"""Seeded round simulator: a numpy batch path over many rounds and a step path for live use.

Randomness is counter-based: every uniform is a SplitMix64 hash of (seed, round index,
tick, slot), so a round depends only on (seed, round index), never on how many rounds
are simulated with it or in which order; and the step path reproduces the batch path
exactly, because both call the same per-tick functions (on arrays of one round there).

Per tick, as in the documented v3 model: the rug check first (slot 0; the rug tick gets
no new price), then the god candle (slot 1), the big move (slot 2, magnitude from slot 3,
sign from slot 4), else the normal move (drift from slot 3, noise from slot 4).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np

from game.rules import GameRules

_SLOTS = 5
_GAMMA = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53
GAME_ID_DATE = date(2026, 1, 1)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on a uint64 array (wrapping arithmetic, in place)."""
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def round_keys(seed: int, round_indices: np.ndarray) -> np.ndarray:
    """One 64-bit stream key per round, from (seed, round index) only."""
    seed_key = _mix(np.array([(seed * _GAMMA) & _MASK], dtype=np.uint64))[0]
    idx = np.asarray(round_indices, dtype=np.uint64)
    return _mix(_mix(idx ^ seed_key) + np.uint64(_GAMMA))


def _uniform(keys: np.ndarray, tick: int, slot: int) -> np.ndarray:
    """U[0, 1) for each round key at (tick, slot)."""
    z = keys + np.uint64(((tick * _SLOTS + slot) * _GAMMA) & _MASK)
    return (_mix(z) >> np.uint64(11)).astype(np.float64) * _TO_UNIT


def side_uniform(seed: int, round_indices: np.ndarray, counter: int) -> np.ndarray:
    """U[0, 1) per round from a side stream of (seed, round index) that the chart never
    uses: what players do in a round depends only on the seed and that round too."""
    keys = round_keys(seed, round_indices) ^ np.uint64(0xD1B54A32D192ED03)
    return _uniform(keys, counter, 0)


def _rugs(rules: GameRules, keys: np.ndarray, tick: int) -> np.ndarray:
    """Which rounds (alive at tick-1) rug at `tick`."""
    return _uniform(keys, tick, 0) < rules.hazard(tick)


def _move(
    rules: GameRules, keys: np.ndarray, price: np.ndarray, tick: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New prices at `tick` for rounds that survived its rug check: (price, big, god)."""
    u_god = _uniform(keys, tick, 1)
    u_big = _uniform(keys, tick, 2)
    u_size = _uniform(keys, tick, 3)
    u_sign = _uniform(keys, tick, 4)
    god = (u_god < rules.god_candle_prob) & (price <= rules.god_candle_max_price)
    big = ~god & (u_big < rules.big_move_prob)
    big_change = rules.big_move_min + (rules.big_move_max - rules.big_move_min) * u_size
    big_change = np.where(u_sign > 0.5, big_change, -big_change)
    root = np.sqrt(price)
    if rules.vol_sqrt_cap is not None:
        np.minimum(root, rules.vol_sqrt_cap, out=root)
    normal = rules.drift_low + (rules.drift_high - rules.drift_low) * u_size
    normal += rules.vol_coef * root * (2.0 * u_sign - 1.0)
    new = price * (1.0 + np.where(big, big_change, normal))
    new = np.where(god, price * rules.god_candle_multiplier, new)
    np.maximum(new, 0.0, out=new)
    return new, big, god


def round_name(seed: int, round_index: int, mode: str = "classic") -> str:
    """What a simulated round's ids are hashed from: `seed:index`, led by the mode but for
    `classic`. Rounds of two modes simulated with one seed are different rounds, so they
    need different ids (the database keys rounds, trades, ... by them); classic ids stay
    as they were before ids named their mode."""
    return f"{seed}:{round_index}" if mode == "classic" else f"{mode}:{seed}:{round_index}"


def game_id(seed: int, round_index: int, mode: str = "classic") -> str:
    """`YYYYMMDD-<16 hex>`, deterministic from (mode, seed, round index)."""
    digest = hashlib.sha256(f"game-id:{round_name(seed, round_index, mode)}".encode()).hexdigest()
    return f"{GAME_ID_DATE:%Y%m%d}-{digest[:16]}"


def server_seed(seed: int, round_index: int) -> str:
    """The round's revealed provably-fair server seed (64 hex, deterministic)."""
    return hashlib.sha256(f"server-seed:{seed}:{round_index}".encode()).hexdigest()


@dataclass(frozen=True)
class Rounds:
    """A batch of simulated rounds; row i is round `first_round + i` of `seed`.

    `prices[i, t]` is the price at tickCount t for t < rug_tick[i], NaN afterwards;
    `big_move`/`god_candle[i, t]` say which move produced that price (False at t = 0).
    `provably_fair` names the engine (`v3`, ...) when the rounds were played from their
    server seeds (`game.fairness.simulate`), None for this module's SplitMix rounds.
    """

    prices: np.ndarray
    rug_tick: np.ndarray
    big_move: np.ndarray
    god_candle: np.ndarray
    game_ids: list[str]
    seed: int
    first_round: int
    mode: str
    provably_fair: str | None = None

    def __len__(self) -> int:
        return len(self.rug_tick)

    def round(self, i: int) -> tuple[np.ndarray, int]:
        """(prices at ticks 0..rug_tick-1, rug tick) of row i."""
        rug = int(self.rug_tick[i])
        return self.prices[i, :rug], rug

    @property
    def peak(self) -> np.ndarray:
        """Highest price of each round."""
        return np.nanmax(self.prices, axis=1)


def simulate_rug_ticks(
    rules: GameRules, n_rounds: int, seed: int, *, first_round: int = 0
) -> np.ndarray:
    """Only the rug ticks of the rounds `simulate_rounds` would give (much cheaper)."""
    keys = round_keys(seed, np.arange(first_round, first_round + n_rounds))
    return _rug_ticks(rules, keys)


def _rug_ticks(rules: GameRules, keys: np.ndarray) -> np.ndarray:
    rug_tick = np.zeros(len(keys), dtype=np.int64)
    live = np.arange(len(keys))
    tick = 0
    while live.size:
        tick += 1
        rugged = _rugs(rules, keys[live], tick)
        rug_tick[live[rugged]] = tick
        live = live[~rugged]
    return rug_tick


def keys_of(seeds: np.ndarray, round_indices: np.ndarray) -> np.ndarray:
    """Stream keys of rounds given by (seed, round index) pairs, e.g. one seed per env of
    a vectorized env: `keys_of([s], [i])` is `round_keys(s, [i])`."""
    seeds = np.asarray(seeds, dtype=np.int64)
    indices = np.asarray(round_indices)
    keys = np.empty(len(indices), dtype=np.uint64)
    for seed in np.unique(seeds):
        rows = seeds == seed
        keys[rows] = round_keys(int(seed), indices[rows])
    return keys


def rug_ticks_of(rules: GameRules, keys: np.ndarray) -> np.ndarray:
    """The rug tick of each round key (as `simulate_rug_ticks`)."""
    return _rug_ticks(rules, np.asarray(keys, dtype=np.uint64))


def simulate_rounds(rules: GameRules, n_rounds: int, seed: int, *, first_round: int = 0) -> Rounds:
    """Simulate rounds `first_round .. first_round + n_rounds - 1` of `seed`."""
    if n_rounds < 0 or first_round < 0:
        raise ValueError("n_rounds and first_round must be >= 0")
    indices = np.arange(first_round, first_round + n_rounds)
    prices, rug_tick, big_move, god_candle = simulate_keys(rules, round_keys(seed, indices))
    return Rounds(
        prices=prices,
        rug_tick=rug_tick,
        big_move=big_move,
        god_candle=god_candle,
        game_ids=[game_id(seed, int(i), rules.name) for i in indices],
        seed=seed,
        first_round=first_round,
        mode=rules.name,
    )


def simulate_keys(
    rules: GameRules, keys: np.ndarray, rug_tick: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(prices, rug_tick, big_move, god_candle) of the rounds with these stream keys, in
    the layout of `Rounds` (pass `rug_tick` when already known, to skip that pass).

    Loops over ticks only; each tick advances every live round at once. Rounds are
    processed longest first so the live ones are always a prefix (views, no copies).
    """
    keys = np.asarray(keys, dtype=np.uint64)
    n_rounds = len(keys)
    if rug_tick is None:
        rug_tick = _rug_ticks(rules, keys)
    max_len = int(rug_tick.max()) if n_rounds else 1
    order = np.argsort(-rug_tick, kind="stable")
    sorted_keys, sorted_rug = keys[order], rug_tick[order]
    alive_at = np.searchsorted(-sorted_rug, -np.arange(max_len), side="left")
    prices = np.full((n_rounds, max_len), np.nan)
    big_move = np.zeros((n_rounds, max_len), dtype=bool)
    god_candle = np.zeros((n_rounds, max_len), dtype=bool)
    prices[:, 0] = rules.initial_price
    price = prices[order, 0]
    for tick in range(1, max_len):
        live = int(alive_at[tick])
        rows = order[:live]
        price, big, god = _move(rules, sorted_keys[:live], price[:live], tick)
        prices[rows, tick] = price
        big_move[rows, tick] = big
        god_candle[rows, tick] = god
    return prices, rug_tick, big_move, god_candle


@dataclass(frozen=True)
class TickResult:
    """One step: at a rug, `rugged` is True and `price` is the last price (no new one)."""

    tick: int
    price: float
    rugged: bool
    big_move: bool = False
    god_candle: bool = False


class RoundStepper:
    """One round tick by tick, identical to row `round_index` of `simulate_rounds`."""

    def __init__(self, rules: GameRules, seed: int, round_index: int) -> None:
        self.rules = rules
        self.seed = seed
        self.round_index = round_index
        self.game_id = game_id(seed, round_index, rules.name)
        self._key = round_keys(seed, np.array([round_index]))
        self._price = np.array([rules.initial_price])
        self._history = [rules.initial_price]
        self.tick = 0
        self.rugged = False

    @property
    def price(self) -> float:
        return float(self._price[0])

    @property
    def prices(self) -> np.ndarray:
        """Prices at ticks 0..tick (the rug tick has none)."""
        return np.array(self._history)

    def step(self) -> TickResult:
        """Advance one tick; raises RuntimeError once the round has rugged."""
        if self.rugged:
            raise RuntimeError(f"round {self.game_id} already rugged at tick {self.tick}")
        self.tick += 1
        if _rugs(self.rules, self._key, self.tick)[0]:
            self.rugged = True
            return TickResult(self.tick, self.price, True)
        self._price, big, god = _move(self.rules, self._key, self._price, self.tick)
        self._history.append(self.price)
        return TickResult(self.tick, self.price, False, bool(big[0]), bool(god[0]))
