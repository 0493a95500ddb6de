"""A small generator of legacy JSONL recordings with known ground truth.

It writes the feed the way GAME.md describes it (the simulator lives on another
branch): per round a presale, active ticks with leaderboard and partial prices, trades,
a leaderboard sidebet, then the rug sequence: the rugged update still `active=true`
revealing the seed, at once an update carrying the next `gameId` in cooldown (still
`rugged=true`, with `gameHistory`), and a late `active=false` for the rugged round.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TICK = timedelta(milliseconds=250)
RUG_PRICE = 0.020000000000000018


@dataclass
class RoundTruth:
    game_id: str
    rug_tick: int
    peak: float
    prices: list[float]
    server_seed: str
    server_seed_hash: str
    trades: int = 0
    sidebets: list[tuple[str, int, str]] = field(default_factory=list)  # player, start, outcome


@dataclass
class Recording:
    events: list[dict[str, Any]]
    rounds: list[RoundTruth]
    players: set[str]

    def lines(self) -> list[str]:
        return [json.dumps(e) for e in self.events]

    def write(self, path: Path, bad: dict[int, str] | None = None) -> dict[int, str]:
        """Write the JSONL; `bad` maps 1-based line numbers to insert garbage before.
        Returns the final line number of each bad line."""
        lines = self.lines()
        placed: dict[int, str] = {}
        for at, text in sorted((bad or {}).items()):
            lines.insert(at - 1, text)
            placed[at] = text
        path.write_text("\n".join(lines) + "\n")
        return placed


def game_id(rng: random.Random, day: datetime) -> str:
    return f"{day:%Y%m%d}-{rng.getrandbits(64):016x}"


def make_recording(
    n_rounds: int = 4,
    seed: int = 7,
    *,
    min_rug: int = 3,
    max_rug: int = 40,
    players: int = 5,
    leaderboard: bool = True,
) -> Recording:
    rng = random.Random(seed)
    names = [(f"P{i:03d}", f"player{i}", 1 + i % 20) for i in range(players)]
    events: list[dict[str, Any]] = []
    truths: list[RoundTruth] = []
    seq = 0
    now = START

    def emit(event: str, data: dict[str, Any]) -> None:
        nonlocal seq
        seq += 1
        events.append(
            {
                "seq": seq,
                "ts": now.isoformat().replace("+00:00", "Z"),
                "event": event,
                "data": data,
                "source": "recorder",
                "direction": "received",
            }
        )

    ids = [game_id(rng, START) for _ in range(n_rounds + 1)]
    history: list[dict[str, Any]] = []
    for r in range(n_rounds):
        gid = ids[r]
        seed_text = f"{rng.getrandbits(128):032x}"
        seed_hash = f"{rng.getrandbits(256):064x}"
        rug = rng.randint(min_rug, max_rug)
        prices = [1.0]
        for _ in range(1, rug):
            prices.append(max(0.0, prices[-1] * (1 + rng.uniform(-0.08, 0.1))))
        truth = RoundTruth(gid, rug, max(prices), prices, seed_text, seed_hash)
        bettor = names[r % len(names)]
        bet_start = min(1, rug - 1)
        truth.sidebets.append((bettor[0], bet_start, "won" if rug <= bet_start + 40 else "lost"))
        fair = {"serverSeedHash": seed_hash, "version": "v3"}
        # presale of this round
        emit(
            "gameStateUpdate",
            _update(gid, active=False, rugged=False, price=1.0, tick=0, fair=fair, cooldown=5000),
        )
        now += timedelta(seconds=1)
        for t in range(rug):
            board = []
            if leaderboard:
                for pid, name, level in names:
                    entry: dict[str, Any] = {
                        "id": pid,
                        "username": name,
                        "level": level,
                        "pnl": rng.uniform(-1, 1),
                        "positionQty": 1.0,
                        "unknownField": [1, 2],
                    }
                    if pid == bettor[0] and t >= bet_start:
                        entry["sidebetActive"] = True
                        entry["sideBet"] = {
                            "startedAtTick": bet_start,
                            "end": bet_start + 40,
                            "betAmount": 0.01,
                            "xPayout": 5,
                        }
                    board.append(entry)
            data = _update(gid, active=True, rugged=False, price=prices[t], tick=t, fair=fair)
            data["leaderboard"] = board
            data["partialPrices"] = {
                "startTick": max(0, t - 3),
                "endTick": t,
                "values": {str(k): prices[k] for k in range(max(0, t - 3), t + 1)},
            }
            emit("gameStateUpdate", data)
            if t % 3 == 1:
                pid, name, level = names[t % len(names)]
                truth.trades += 1
                emit(
                    "standard/newTrade",
                    {
                        "id": f"{gid}-t{t}",
                        "gameId": gid,
                        "playerId": pid,
                        "username": name,
                        "level": level,
                        "type": "buy",
                        "amount": 0.01,
                        "qty": 0.01 / max(prices[t], 1e-9),
                        "price": prices[t],
                        "tickIndex": t,
                        "coin": "solana",
                    },
                )
            now += TICK
        # the rug sequence
        rugged = _update(
            gid,
            active=True,
            rugged=True,
            price=RUG_PRICE,
            tick=rug,
            fair={"serverSeed": seed_text, "serverSeedHash": seed_hash, "version": "v3"},
        )
        emit("gameStateUpdate", rugged)
        truth.trades += 1
        emit(
            "standard/newTrade",
            {
                "id": f"{gid}-forced",
                "gameId": gid,
                "playerId": names[0][0],
                "username": names[0][1],
                "type": "sell",
                "amount": 0.0001,
                "qty": 1.0,
                "price": RUG_PRICE,
                "tickIndex": rug,
            },
        )
        history.insert(
            0,
            {
                "id": gid,
                "timestamp": now.timestamp() * 1000,
                "peakMultiplier": truth.peak,
                "rugged": True,
                "prices": [*prices, RUG_PRICE],  # as the server lists it: the rug price last
                "provablyFair": {"serverSeed": seed_text, "serverSeedHash": seed_hash},
            },
        )
        nxt = _update(
            ids[r + 1],
            active=False,
            rugged=True,
            price=RUG_PRICE,
            tick=0,
            fair={"serverSeedHash": f"{rng.getrandbits(256):064x}", "version": "v3"},
            cooldown=15000,
        )
        nxt["gameHistory"] = history[:10]
        emit("gameStateUpdate", nxt)
        now += timedelta(milliseconds=700)
        late = _update(gid, active=False, rugged=True, price=RUG_PRICE, tick=rug, fair=None)
        emit("gameStateUpdate", late)
        now += timedelta(seconds=4)
        truths.append(truth)
    return Recording(events, truths, {p[0] for p in names})


def _update(
    gid: str,
    *,
    active: bool,
    rugged: bool,
    price: float,
    tick: int,
    fair: dict[str, Any] | None,
    cooldown: int = 0,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "gameId": gid,
        "active": active,
        "rugged": rugged,
        "price": price,
        "tickCount": tick,
        "tradeCount": 0,
        "cooldownTimer": cooldown,
        "cooldownPaused": False,
        "allowPreRoundBuys": not active,
        "connectedPlayers": 100,
        "rugpool": {"instarugCount": 1},
    }
    if fair is not None:
        data["provablyFair"] = fair
    return data
