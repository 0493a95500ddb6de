from __future__ import annotations

import json
from pathlib import Path

import pytest

from game.fairness.records import RoundRecord

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
SAMPLE = REAL / "game_history_sample.json"

# found with the bulk path among sha256-derived seeds: a v3 round with a god candle at
# tick 1 (rug at 7), and a round that v1 and v2 play differently (its price passes 100)
GOD_CANDLE = (
    "9e95dfe44fe943fdb100f51714e63736a9fee99f705a5f4fa9a2fd39a245708f",
    "20260101-98985e30fc925a1b",
)
ABOVE_100 = (
    "5ed99872e0cab73b99c960e2a3da8ef2b7084b91a72a81ccd75f4b6d2295cab3",
    "20260101-adfba5bfb229cc90",
)


@pytest.fixture(scope="session")
def sample_history() -> list[dict]:
    return json.loads(SAMPLE.read_text())


@pytest.fixture(scope="session")
def sample_records(sample_history) -> list[RoundRecord]:
    return [RoundRecord.from_game_history(entry) for entry in sample_history]
