"""Hand-built rugs.fun protocol messages in the AMQP envelope (`{event, data, ts}`), for
consumer tests and the consumer benchmark (the game simulator lives on another branch).

A round of `rug_tick` ticks yields one `gameStateUpdate` per tick 0..rug_tick-1 (each
with its price), the rugged update at `rug_tick` revealing the seed, and `trades_every`
-spaced `standard/newTrade`s; `expected` says which rows those messages must produce.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

TICK_MS = 250


@dataclass
class Expected:
    events: int = 0
    games: dict[str, int] = field(default_factory=dict)  # game id -> rug tick
    ticks: int = 0
    trades: int = 0


def game_id(index: int) -> str:
    return f"20251107-{hashlib.sha256(str(index).encode()).hexdigest()[:16]}"


def _leaderboard(rng: random.Random, players: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"did:privy:player{p:04d}",
            "username": f"player{p}",
            "level": rng.randint(1, 60),
            "pnl": round(rng.uniform(-1, 1), 6),
            "pnlPercent": round(rng.uniform(-50, 50), 3),
            "positionQty": round(rng.uniform(0, 5), 6),
            "avgCost": round(rng.uniform(0.5, 3), 6),
            "totalInvested": round(rng.uniform(0, 2), 6),
            "sidebetActive": False,
            "sideBet": None,
            "shortPosition": None,
        }
        for p in range(players)
    ]


def round_messages(
    index: int,
    rug_tick: int,
    *,
    start_ms: int = 1_762_500_000_000,
    trades_every: int = 5,
    leaderboard: int = 0,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], Expected]:
    """The messages of one round and the rows they imply."""
    rng = random.Random(seed * 1_000_003 + index)
    gid = game_id(index)
    server_seed = hashlib.sha256(f"seed-{index}".encode()).hexdigest()
    seed_hash = hashlib.sha256(server_seed.encode()).hexdigest()
    board = _leaderboard(rng, leaderboard)
    messages: list[dict[str, Any]] = []
    price = 1.0
    trades = 0
    for tick in range(rug_tick):
        ts = start_ms + tick * TICK_MS
        messages.append(
            {
                "event": "gameStateUpdate",
                "ts": ts,
                "data": {
                    "gameId": gid,
                    "active": True,
                    "rugged": False,
                    "price": round(price, 9),
                    "tickCount": tick,
                    "tradeCount": trades,
                    "cooldownTimer": 0,
                    "connectedPlayers": 150 + tick % 7,
                    "provablyFair": {"serverSeedHash": seed_hash, "version": "v3"},
                    "leaderboard": board,
                },
            }
        )
        if tick % trades_every == 0:
            trades += 1
            messages.append(
                {
                    "event": "standard/newTrade",
                    "ts": ts + 100,
                    "data": {
                        "id": f"{gid}-t{tick}",
                        "gameId": gid,
                        "playerId": f"did:privy:player{tick % 9:04d}",
                        "username": f"player{tick % 9}",
                        "level": 5,
                        "type": "buy" if tick % 2 == 0 else "sell",
                        "amount": 0.01,
                        "qty": round(0.01 / max(price, 1e-9), 9),
                        "price": round(price, 9),
                        "tickIndex": tick,
                        "coin": "solana",
                    },
                }
            )
        price *= 1 + rng.uniform(-0.02, 0.03)
    messages.append(
        {
            "event": "gameStateUpdate",
            "ts": start_ms + rug_tick * TICK_MS,
            "data": {
                "gameId": gid,
                "active": True,
                "rugged": True,
                "price": 0.00178,
                "tickCount": rug_tick,
                "cooldownTimer": 0,
                "provablyFair": {
                    "serverSeed": server_seed,
                    "serverSeedHash": seed_hash,
                    "version": "v3",
                },
            },
        }
    )
    expected = Expected(events=len(messages), games={gid: rug_tick}, ticks=rug_tick, trades=trades)
    return messages, expected


def stream(
    rounds: int, rug_ticks: list[int] | None = None, **kwargs: Any
) -> tuple[list[dict[str, Any]], Expected]:
    """Several consecutive rounds (15 s apart) and the rows they imply together."""
    total = Expected()
    out: list[dict[str, Any]] = []
    start = kwargs.pop("start_ms", 1_762_500_000_000)
    for i in range(rounds):
        rug = rug_ticks[i] if rug_ticks else 20 + (i * 37) % 80
        messages, expected = round_messages(i, rug, start_ms=start, **kwargs)
        start += rug * TICK_MS + 15_000
        out += messages
        total.events += expected.events
        total.games.update(expected.games)
        total.ticks += expected.ticks
        total.trades += expected.trades
    return out, total


def stored_counts(dsn: str) -> dict[str, int]:
    """Rows in the tables the messages feed, to compare with `Expected`."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("websocket_events", "games", "ticks", "trades")
        }


def expected_counts(expected: Expected) -> dict[str, int]:
    return {
        "websocket_events": expected.events,
        "games": len(expected.games),
        "ticks": expected.ticks,
        "trades": expected.trades,
    }


def stored_rug_ticks(dsn: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT game_id, rug_tick FROM games").fetchall())
