"""The rugs.fun price engines v1/v2/v3, driven by `Math.seedrandom(serverSeed-gameId)`.

Pure Python, the reference every other path is tested against. Per tick, in this order
(GAME.md, "Verified on real data"): one draw for the rug check (`< RUG_PROB`: the round
ends, the rug tick gets no price); then, v3 only, one draw for the god candle (`<
GOD_CANDLE_PROB` and price <= 100: price x 10, nothing more drawn that tick; the draw is
made whatever the price); else one draw for the big move (`< BIG_MOVE_PROB`), then either
its size and its sign (`> 0.5` is up) or the drift and the volatility term. v1 scales the
volatility by `sqrt(price)`, v2 and v3 by `min(10, sqrt(price))`. The arithmetic is the
server's, operation for operation, so every price is bit-identical.

The server's loop makes at most 5,000 rug checks; this engine ends a round that reaches
tick `MAX_TICKS` there (rug tick 5000, as `game.rules` caps a round), which differs from
the server only for a round that survives 4,999 checks (probability about 1e-11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from game.fairness.seedrandom import SeedRandom
from game.rules import GameRules

EngineVersion = Literal["v1", "v2", "v3"]
ENGINE_VERSIONS: tuple[EngineVersion, ...] = get_args(EngineVersion)

# the server's constants (GAME.md; the verification page's RUG_PROB 0.011 is not used)
RUG_PROB = 0.005
GOD_CANDLE_PROB = 0.00001
GOD_CANDLE_MAX_PRICE = 100.0
GOD_CANDLE_MOVE = 10.0
BIG_MOVE_PROB = 0.125
BIG_MOVE_MIN = 0.15
BIG_MOVE_MAX = 0.25
DRIFT_MIN = -0.02
DRIFT_MAX = 0.03
VOLATILITY = 0.005
VOLATILITY_SQRT_CAP = 10.0
STARTING_PRICE = 1.0
MAX_TICKS = 5000

# the move that produced a tick's price
NORMAL, BIG, GOD = 0, 1, 2


def combined_seed(server_seed: str, game_id: str) -> str:
    """The text the server seeds its generator with."""
    return f"{server_seed}-{game_id}"


@dataclass(frozen=True)
class Replay:
    """A round as the engine plays it from its seed."""

    game_id: str
    version: EngineVersion
    prices: list[float]  # at ticks 0 .. rug_tick - 1
    rug_tick: int
    moves: bytes  # per tick, the move that produced its price (NORMAL at tick 0)

    @property
    def peak(self) -> float:
        return max(self.prices)


def replay(server_seed: str, game_id: str, version: EngineVersion = "v3") -> Replay:
    """Play round `game_id` from its revealed `server_seed` with engine `version`."""
    if version not in ENGINE_VERSIONS:
        raise ValueError(f"unknown engine version {version!r}; expected one of {ENGINE_VERSIONS}")
    rand = SeedRandom(combined_seed(server_seed, game_id))
    god_candles, capped = version == "v3", version != "v1"
    price = STARTING_PRICE
    prices, moves = [price], bytearray(1)
    for _tick in range(1, MAX_TICKS):
        if rand() < RUG_PROB:
            break
        if god_candles and rand() < GOD_CANDLE_PROB and price <= GOD_CANDLE_MAX_PRICE:
            price = price * GOD_CANDLE_MOVE
            move = GOD
        else:
            if rand() < BIG_MOVE_PROB:
                size = BIG_MOVE_MIN + rand() * (BIG_MOVE_MAX - BIG_MOVE_MIN)
                change = size if rand() > 0.5 else -size
                move = BIG
            else:
                drift = DRIFT_MIN + rand() * (DRIFT_MAX - DRIFT_MIN)
                root = math.sqrt(price)
                volatility = VOLATILITY * (min(VOLATILITY_SQRT_CAP, root) if capped else root)
                change = drift + volatility * (2 * rand() - 1)
                move = NORMAL
            price = price * (1 + change)
            if price < 0:
                price = 0.0
        prices.append(price)
        moves.append(move)
    return Replay(game_id, version, prices, len(prices), bytes(moves))


def engine_version(rules: GameRules) -> EngineVersion:
    """The engine that plays `rules`' chart, or ValueError naming what no engine plays.

    Only the chart matters (rug hazard, moves, cap); sidebets, payouts and timing are free.
    v3 is the documented law (classic); v2 has no god candle; v1 neither the sqrt cap."""
    god = rules.god_candle_prob
    version: EngineVersion = "v3" if god else "v2" if rules.vol_sqrt_cap is not None else "v1"
    law = {
        "rug_prob": RUG_PROB,
        "hazard_slope": 0.0,
        "initial_price": STARTING_PRICE,
        "god_candle_prob": GOD_CANDLE_PROB if version == "v3" else 0.0,
        "big_move_prob": BIG_MOVE_PROB,
        "big_move_min": BIG_MOVE_MIN,
        "big_move_max": BIG_MOVE_MAX,
        "drift_low": DRIFT_MIN,
        "drift_high": DRIFT_MAX,
        "vol_coef": VOLATILITY,
        "vol_sqrt_cap": None if version == "v1" else VOLATILITY_SQRT_CAP,
        "max_ticks": MAX_TICKS,
    }
    if version == "v3":
        law["god_candle_max_price"] = GOD_CANDLE_MAX_PRICE
        law["god_candle_multiplier"] = GOD_CANDLE_MOVE
    differs = [
        f"{name} = {getattr(rules, name)!r} (the engine's: {value!r})"
        for name, value in law.items()
        if getattr(rules, name) != value
    ]
    if differs:
        raise ValueError(
            f"mode {rules.name!r} cannot be played from a seed: no provably-fair engine "
            f"has its chart ({'; '.join(differs)})"
        )
    return version
