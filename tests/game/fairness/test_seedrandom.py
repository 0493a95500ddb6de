"""The generator against the seedrandom library itself (vectors it produced)."""

from __future__ import annotations

import json
from pathlib import Path

from game.fairness.seedrandom import SeedRandom, mix_key

VECTORS = Path(__file__).resolve().parents[2] / "data" / "fairness" / "seedrandom_vectors.json"


def test_every_vector_of_the_library_is_reproduced_to_the_bit():
    vectors = json.loads(VECTORS.read_text())["vectors"]
    texts = [v["text"] for v in vectors]
    # empty, short, 255/256/257 characters, astral-plane and NUL characters are covered
    assert "" in texts and any(len(t) > 256 for t in texts)
    assert any("\U0001d11e" in t for t in texts) and any("\x00" in t for t in texts)
    for vector in vectors:
        rand = SeedRandom(vector["text"])
        assert [rand() for _ in vector["doubles"]] == vector["doubles"], vector["text"]


def test_the_documented_example():
    assert SeedRandom("hello.")() == 0.9282578795792454  # seedrandom's README


def test_the_key_has_at_most_256_bytes_and_is_never_empty():
    assert mix_key("") == [0]
    assert len(mix_key("x" * 1000)) == 256
    assert mix_key("a") == [ord("a")]
    # a second unit smears the first: key[1] = (key[0]'s smear ^ 0 * 19) + unit
    assert mix_key("ab") == [97, (0 ^ 0) + 98]


def test_doubles_are_in_the_unit_interval_with_52_bit_resolution():
    rand = SeedRandom("resolution")
    values = [rand() for _ in range(5000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert len(set(values)) == len(values)
    # each is a multiple of 2**-k for some k >= 52 with a 53-bit numerator
    assert all((v * 2.0**56) % 1 == 0 or v < 2**-4 for v in values)
