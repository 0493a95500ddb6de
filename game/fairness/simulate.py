"""Simulated rounds played by the provably-fair engine, so they verify like real ones.

Round i of `seed` gets the simulator's id and server seed (`game_id(seed, i, mode)`,
`server_seed(seed, i)`) and the engine plays it from `serverSeed-gameId`, exactly as the
server would: a recording of these rounds reveals seeds that replay to its prices. Only
modes whose chart an engine plays can be simulated this way (`engine_version`); the
SplitMix path of `game.simulator` stays the bulk simulator of every mode.
"""

from __future__ import annotations

import numpy as np

from game.fairness.engine import BIG, GOD, engine_version
from game.fairness.fast import replay_many
from game.rules import GameRules
from game.simulator import Rounds, game_id, server_seed


def seedrandom_rounds(
    rules: GameRules, n_rounds: int, seed: int, *, first_round: int = 0
) -> Rounds:
    """Rounds `first_round .. first_round + n_rounds - 1` of `seed`, as `simulate_rounds`
    lays them out; ValueError when no engine plays `rules`' chart."""
    if n_rounds < 0 or first_round < 0:
        raise ValueError("n_rounds and first_round must be >= 0")
    version = engine_version(rules)
    indices = range(first_round, first_round + n_rounds)
    ids = [game_id(seed, i, rules.name) for i in indices]
    played = replay_many([server_seed(seed, i) for i in indices], ids, [version] * n_rounds)
    rug_tick = np.array([rug for _, rug, _ in played], dtype=np.int64)
    width = int(rug_tick.max()) if n_rounds else 1
    prices = np.full((n_rounds, width), np.nan)
    moves = np.full((n_rounds, width), -1, dtype=np.int8)
    for row, (path, rug, kinds) in enumerate(played):
        prices[row, :rug] = path
        moves[row, :rug] = (
            np.frombuffer(kinds, dtype=np.uint8) if isinstance(kinds, bytes) else kinds
        )
    return Rounds(
        prices=prices,
        rug_tick=rug_tick,
        big_move=moves == BIG,
        god_candle=moves == GOD,
        game_ids=ids,
        seed=seed,
        first_round=first_round,
        mode=rules.name,
        provably_fair=version,
    )
