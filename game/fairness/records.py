"""A recorded round as the verifier takes it, whatever the format it was read from.

Readers of every format (gameHistory JSON here; websocket captures, REPLAYER files,
Parquet and the database elsewhere) turn what they read into `RoundRecord`s, and
`verify.verify_records` judges them; so a new format needs a reader, nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RoundRecord:
    """One recorded round.

    `prices[k]` is the recorded price at tick `first_tick + k`, for ticks before the rug
    only (NaN where a tick was not recorded); `rug_tick` the recorded rug tick (None:
    not recorded, then only the prices are compared). `version` is the engine the
    record names (`v1`, `v2`, `v3`), None to let the verifier find the one that matches.
    `source` says where the record was read (`file:line`), for messages."""

    game_id: str
    server_seed: str | None
    server_seed_hash: str | None = None
    version: str | None = None
    prices: Sequence[float] = ()
    rug_tick: int | None = None
    first_tick: int = 0
    source: str | None = None

    @classmethod
    def from_game_history(cls, entry: Mapping[str, Any], *, source: str | None = None):
        """A `gameHistory` record (`id, prices[], rugged, gameVersion, provablyFair`):
        its last price is the rug price, which is not a tick's (the generator does not
        produce it), unless `rugged` is false. ValueError names the field at fault."""
        if not isinstance(entry, Mapping):
            raise ValueError("record: expected a JSON object (a gameHistory record)")
        game_id = entry.get("id")
        if not isinstance(game_id, str) or not game_id:
            raise ValueError("id: missing or not a string")
        prices = entry.get("prices")
        if not isinstance(prices, list) or not prices:
            raise ValueError("prices: missing or not a non-empty list")
        for k, price in enumerate(prices):
            if isinstance(price, bool) or not isinstance(price, int | float):
                raise ValueError(f"prices[{k}]: not a number")
            if not math.isfinite(price) or price < 0:
                raise ValueError(f"prices[{k}]: not a finite price >= 0")
        rugged = entry.get("rugged", True)
        if not isinstance(rugged, bool):
            raise ValueError("rugged: not a boolean")
        rug_tick = None
        if rugged:
            if len(prices) < 2:
                raise ValueError("prices: a rugged round lists tick 0 and the rug price at least")
            rug_tick = len(prices) - 1
            prices = prices[:-1]
        fair = entry.get("provablyFair") or {}
        if not isinstance(fair, Mapping):
            raise ValueError("provablyFair: not an object")
        seed, seed_hash = fair.get("serverSeed"), fair.get("serverSeedHash")
        version = entry.get("gameVersion") or fair.get("version")
        for name, value in (
            ("provablyFair.serverSeed", seed),
            ("provablyFair.serverSeedHash", seed_hash),
            ("gameVersion", version),
        ):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name}: not a string")
        return cls(
            game_id=game_id,
            server_seed=seed or None,
            server_seed_hash=seed_hash or None,
            version=version or None,
            prices=[float(p) for p in prices],
            rug_tick=rug_tick,
            source=source,
        )
