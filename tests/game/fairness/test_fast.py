"""The numba path against the pure-Python reference on random seeds."""

from __future__ import annotations

import random

import numpy as np
import pytest

from game.fairness.engine import replay
from game.fairness.fast import replay_batch, replay_many
from tests.game.fairness.conftest import ABOVE_100, GOD_CANDLE


def _seeds(n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    seeds = [f"{rng.getrandbits(256):064x}" for _ in range(n)]
    ids = [f"2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}-{rng.getrandbits(64):016x}"
           for _ in range(n)]  # fmt: skip
    return seeds, ids


@pytest.mark.parametrize(("version", "n"), [("v3", 300), ("v2", 60), ("v1", 60)])
def test_the_bulk_path_equals_the_reference_to_the_bit(version, n):
    seeds, ids = _seeds(n, random.Random(f"fast-{version}"))
    seeds += [GOD_CANDLE[0], ABOVE_100[0], "", "é€\U0001d11e" * 100]
    ids += [GOD_CANDLE[1], ABOVE_100[1], "x", "odd id"]
    batch = replay_batch(seeds, ids, [version] * len(seeds))
    assert len(batch) == len(seeds) and batch.ticks == int(batch.rug_ticks.sum())
    for i, (seed, game) in enumerate(zip(seeds, ids, strict=True)):
        ref = replay(seed, game, version)
        assert int(batch.rug_ticks[i]) == ref.rug_tick, (seed, game)
        assert batch.prices_of(i).tolist() == ref.prices, (seed, game)
        assert batch.moves_of(i).tobytes() == ref.moves


def test_mixed_versions_in_one_batch_and_the_dispatcher():
    seeds, ids = _seeds(6, random.Random(5))
    versions = ["v1", "v2", "v3"] * 2
    batch = replay_batch(seeds, ids, versions)
    python = replay_many(seeds, ids, versions, engine="python")
    numba = replay_many(seeds, ids, versions, engine="numba")
    for i in range(6):
        assert python[i][0] == batch.prices_of(i).tolist() == list(numba[i][0])
        assert python[i][1] == numba[i][1] == batch.rug_ticks[i]


def test_an_empty_batch_and_bad_arguments():
    empty = replay_batch([], [], [])
    assert len(empty) == 0 and empty.prices.size == 0
    with pytest.raises(ValueError, match="same length"):
        replay_batch(["a"], [], [])
    with pytest.raises(ValueError, match="unknown engine version"):
        replay_batch(["a"], ["b"], ["v9"])  # type: ignore[list-item]
    assert np.all(empty.offsets == 0)
