"""The bulk replay path: the same generator and engines compiled with numba.

Measured before choosing (bench/verify_throughput.py, one core): the pure-Python
reference replays about 0.1 M ticks/s; numpy in lockstep across rounds cannot go far
past it, because RC4 is a byte-serial permutation walk (about 35 bytes a tick, each a
gather and two scatters per round: 0.47 M ticks/s for the byte stream alone, before the
doubles and the moves); numba compiles the scalar loop and replays several million ticks
a second. numba and llvmlite load in about 0.4-0.7 s and ~130 MB, so the kernels
(`_kernels.py`) are imported only when at least BULK_MIN_ROUNDS rounds are replayed at
once (`verify` of files or of the database, the import's verification); the web workers
and the live consumer replay one round at a time in pure Python (a few milliseconds).

The kernels mirror `seedrandom.py` and `engine.py` line for line; tests replay thousands
of random seeds through both and require every price to be equal.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from game.fairness.engine import ENGINE_VERSIONS, EngineVersion, combined_seed, replay

Engine = Literal["auto", "python", "numba"]
# below this many rounds, loading numba (~0.4 s) costs more than it saves
BULK_MIN_ROUNDS = 200

_VERSION_CODE = {version: code for code, version in enumerate(ENGINE_VERSIONS, start=1)}


@dataclass(frozen=True)
class ReplayBatch:
    """Many rounds replayed: round i's prices are `prices[offsets[i]:offsets[i + 1]]`
    (ticks 0 .. rug_tick - 1), its moves likewise (`engine.NORMAL/BIG/GOD`)."""

    prices: np.ndarray
    moves: np.ndarray
    offsets: np.ndarray
    rug_ticks: np.ndarray

    def __len__(self) -> int:
        return len(self.rug_ticks)

    def prices_of(self, i: int) -> np.ndarray:
        return self.prices[self.offsets[i] : self.offsets[i + 1]]

    def moves_of(self, i: int) -> np.ndarray:
        return self.moves[self.offsets[i] : self.offsets[i + 1]]

    @property
    def ticks(self) -> int:
        return int(self.rug_ticks.sum())


def replay_batch(
    server_seeds: Sequence[str], game_ids: Sequence[str], versions: Sequence[EngineVersion]
) -> ReplayBatch:
    """Replay rounds i = 0.. from (server_seeds[i], game_ids[i]) with versions[i]."""
    if not len(server_seeds) == len(game_ids) == len(versions):
        raise ValueError("server_seeds, game_ids and versions must have the same length")
    pairs = zip(server_seeds, game_ids, strict=True)
    texts = [combined_seed(seed, game).encode("utf-16-le") for seed, game in pairs]
    units = np.frombuffer(b"".join(texts), dtype="<u2").astype(np.int64)
    unit_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) // 2 for t in texts], out=unit_offsets[1:])
    try:
        codes = np.array([_VERSION_CODE[v] for v in versions], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"unknown engine version {exc.args[0]!r}") from None
    from game.fairness._kernels import replay_kernel  # loads numba: the bulk path only

    prices, moves, offsets, rugs = replay_kernel(units, unit_offsets, codes)
    return ReplayBatch(prices, moves, offsets, rugs)


def replay_many(
    server_seeds: Sequence[str],
    game_ids: Sequence[str],
    versions: Sequence[EngineVersion],
    *,
    engine: Engine = "auto",
) -> list[tuple[Sequence[float], int, bytes | np.ndarray]]:
    """(prices, rug tick, moves) of each round, by numba (`engine="numba"`, or "auto"
    with at least BULK_MIN_ROUNDS rounds and numba installed) or by the reference."""
    bulk = engine == "numba" or (
        engine == "auto" and len(server_seeds) >= BULK_MIN_ROUNDS and available()
    )
    if bulk:
        batch = replay_batch(server_seeds, game_ids, versions)
        return [
            (batch.prices_of(i), int(batch.rug_ticks[i]), batch.moves_of(i))
            for i in range(len(batch))
        ]
    played = [replay(s, g, v) for s, g, v in zip(server_seeds, game_ids, versions, strict=True)]
    return [(p.prices, p.rug_tick, p.moves) for p in played]


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether numba can be imported here (a platform without its wheels cannot)."""
    return importlib.util.find_spec("numba") is not None
