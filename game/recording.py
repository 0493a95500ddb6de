"""Simulated rounds as the rugs.fun protocol stream, in the legacy JSONL recording format.

Each line is `{"seq", "ts", "event", "data", "source", "direction"}`. Per round: a
cooldown (settle, then presale with `allowPreRoundBuys`), one `gameStateUpdate` per
tick (`tick_seconds` apart), `standard/newTrade` for each trade, `currentSidebet` /
`currentSidebetResult` for sidebets, and the rug sequence: two back-to-back updates,
the first with `rugged=true` (still `active=true`), the rug price and the revealed
`serverSeed`, the second carrying the next `gameId`; both carry `gameHistory`. Seeds are
revealed only for rounds the provably-fair engine played from them (`prng="seedrandom"`):
the SplitMix simulator's charts do not derive from a seed, so their rounds reveal none.
Everything derives from (rules, seed, players), so one seed gives byte-identical files.
Rounds are simulated in chunks and written as they come: memory does not grow with N.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np

from game.fairness.simulate import seedrandom_rounds
from game.leaderboard import RoundLeaderboard
from game.personas import BUY, Activity, Player, make_players, simulate_players
from game.rules import GameRules
from game.simulator import Rounds, game_id, round_name, server_seed, simulate_rounds

SOL_MINT = "So11111111111111111111111111111111111111112"
START = datetime(2026, 1, 1, tzinfo=UTC)
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False).encode


@dataclass(frozen=True)
class RecordingOptions:
    """How the stream looks; defaults follow the real feed where it is known."""

    start: datetime = START
    source: str = "simulator"
    leaderboard_size: int = 10
    history_size: int = 1  # rounds in gameHistory at a transition (the feed sends ~10)
    cooldown_update_seconds: float = 1.0
    partial_prices: int = 5  # ticks in partialPrices
    trace_every: int = 0  # every Nth message preceded by a {"__trace": true} object
    chunk_rounds: int = 100
    # "seedrandom": charts played by the provably-fair engine from the revealed seeds (they
    # verify like real rounds; classic-law modes only); "splitmix": the bulk simulator's
    prng: Literal["splitmix", "seedrandom"] = "splitmix"


@dataclass
class Event:
    ts_ms: int
    event: str
    data: dict[str, Any]


@dataclass
class RecordedRound:
    """One round's events in stream order and its ground truth."""

    game_id: str
    truth: dict[str, Any]
    events: list[Event] = field(default_factory=list)


def _uid(*parts: object) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:16]))


def _seed_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _slice(arrays: dict[str, np.ndarray], rows: np.ndarray, row: int) -> dict[str, np.ndarray]:
    lo, hi = np.searchsorted(rows, [row, row + 1])
    return {k: v[lo:hi] for k, v in arrays.items()}


class _Round:
    """Builds the events of one round; times are integer milliseconds."""

    def __init__(self, ctx: _Context, rounds: Rounds, activity: Activity, row: int) -> None:
        self.ctx, self.rules = ctx, ctx.rules
        self.index = rounds.first_round + row
        self.game_id = rounds.game_ids[row]
        self.next_id = ctx.game_id_after(self.index)
        prices, self.rug = rounds.round(row)
        self.prices = prices.tolist()
        self.seed = server_seed(rounds.seed, self.index)
        # only rounds played from their seed reveal it: a SplitMix round's would not replay
        self.fair_version = rounds.provably_fair
        self.version = self.fair_version or "v3"
        t = activity.trades
        self.trades = _slice({k: getattr(t, k) for k in t.__dataclass_fields__}, t.row, row)
        s = activity.sidebets
        self.bets = _slice({k: getattr(s, k) for k in s.__dataclass_fields__}, s.row, row)
        marks = np.append(prices, self.rules.rug_price)
        self.board = RoundLeaderboard(
            marks, self.trades, self.bets, ctx.players, self.rules.sidebet_payout,
            ctx.options.leaderboard_size,
        )  # fmt: skip
        self.god_ticks = np.flatnonzero(rounds.god_candle[row, : self.rug]).tolist()

    def events(self, cooldown_start: int) -> tuple[list[Event], int]:
        """Events from this round's cooldown to its rug; returns them and the rug time."""
        r, o = self.rules, self.ctx.options
        tick_ms = round(r.tick_seconds * 1000)
        start = cooldown_start + round(r.cooldown_seconds * 1000)
        presale = start - round(r.presale_seconds * 1000)
        out: list[Event] = []
        step = max(1, round(o.cooldown_update_seconds * 1000))
        for ts in range(cooldown_start + step, start, step):
            out.append(Event(ts, "gameStateUpdate", self._cooldown(start - ts, ts >= presale)))
        timed: list[Event] = []
        trades, bets = self.trades, self.bets
        n_presale = int((trades["tick"] == 0).sum())
        for i in range(len(trades["tick"])):
            tick = int(trades["tick"][i])
            if tick == 0:  # presale buys, spread over the presale window
                ts = presale + (i + 1) * (start - presale) // (n_presale + 1)
            else:
                ts = start + tick * tick_ms + 20 + 7 * (i % 30)
            timed.append(Event(ts, "standard/newTrade", self._trade(i, trades)))
        for k in range(len(bets["start_tick"])):
            placed = start + int(bets["start_tick"][k]) * tick_ms + 15 + k % 30
            resolved = start + int(bets["resolve_tick"][k]) * tick_ms + 40 + k % 30
            timed.append(Event(placed, "currentSidebet", self._bet(k, "placed")))
            timed.append(Event(resolved, "currentSidebetResult", self._bet(k, "payout")))
        rug_ms = start + self.rug * tick_ms
        for tick in range(self.rug):
            out.append(Event(start + tick * tick_ms, "gameStateUpdate", self._tick(tick)))
        out.append(Event(rug_ms, "gameStateUpdate", self._rug_reveal(rug_ms)))
        out.append(Event(rug_ms + 240, "gameStateUpdate", self._next_game(rug_ms)))
        out.extend(timed)
        out.sort(key=lambda e: e.ts_ms)  # stable: an update precedes its tick's trades
        return out, rug_ms + 240

    def _common(self, tick: int, price: float) -> dict[str, Any]:
        n_trades = int(np.searchsorted(self.trades["tick"], tick, side="right"))
        lo = max(0, tick - self.ctx.options.partial_prices + 1)
        values = {str(t): self.prices[t] for t in range(lo, min(tick + 1, self.rug))}
        return {
            "gameId": self.game_id,
            "active": True,
            "rugged": False,
            "price": price,
            "tickCount": tick,
            "tradeCount": n_trades,
            "cooldownTimer": 0,
            "cooldownPaused": False,
            "allowPreRoundBuys": False,
            "connectedPlayers": len(self.ctx.players),
            "partialPrices": {"startTick": lo, "endTick": tick, "values": values},
            "leaderboard": self.board.at(tick),
            "provablyFair": {"serverSeedHash": _seed_hash(self.seed), "version": self.version},
        }

    def _tick(self, tick: int) -> dict[str, Any]:
        return self._common(tick, self.prices[tick])

    def _cooldown(self, remaining_ms: int, presale: bool) -> dict[str, Any]:
        return {
            "gameId": self.game_id,
            "active": False,
            "rugged": False,
            "price": self.rules.initial_price,
            "tickCount": 0,
            "tradeCount": 0,
            "cooldownTimer": remaining_ms,
            "cooldownPaused": False,
            "allowPreRoundBuys": presale,
            "connectedPlayers": len(self.ctx.players),
            "leaderboard": [],
            "provablyFair": {"serverSeedHash": _seed_hash(self.seed), "version": self.version},
        }

    def history_entry(self, rug_ms: int) -> dict[str, Any]:
        return {
            "id": self.game_id,
            "timestamp": rug_ms,
            "prices": [*self.prices, self.rules.rug_price],
            "peakMultiplier": max(self.prices),
            "rugged": True,
            "godCandle": bool(self.god_ticks),
            "godCandleTicks": self.god_ticks,
            "globalTrades": [],
            "globalSidebets": [],
            "provablyFair": self._revealed(),
            "gameVersion": self.version,
        }

    def _revealed(self) -> dict[str, str]:
        fair = {"serverSeedHash": _seed_hash(self.seed)}
        if self.fair_version:
            fair["serverSeed"] = self.seed
        return fair

    def _rug_reveal(self, rug_ms: int) -> dict[str, Any]:
        data = self._common(self.rug, self.rules.rug_price)
        data["rugged"] = True
        data["provablyFair"] = {**self._revealed(), "version": self.version}
        data["gameHistory"] = self.ctx.push_history(self.history_entry(rug_ms))
        return data

    def _next_game(self, rug_ms: int) -> dict[str, Any]:
        data = self._cooldown(round(self.rules.cooldown_seconds * 1000), False)
        data["gameId"] = self.next_id
        next_seed = server_seed(self.ctx.seed, self.index + 1)
        data["provablyFair"] = {"serverSeedHash": _seed_hash(next_seed), "version": self.version}
        data["gameHistory"] = list(self.ctx.history)
        return data

    def _uid(self, kind: str, n: int) -> str:
        """The id of the round's n-th trade or sidebet, unique across modes as its id is."""
        return _uid(kind, round_name(self.ctx.seed, self.index, self.rules.name), n)

    def _trade(self, i: int, t: dict[str, np.ndarray]) -> dict[str, Any]:
        player = self.ctx.players[int(t["player"][i])]
        return {
            "id": self._uid("trade", i),
            "gameId": self.game_id,
            "playerId": player.player_id,
            "username": player.username,
            "level": player.level,
            "type": "buy" if t["kind"][i] == BUY else "sell",
            "amount": float(t["amount"][i]),
            "qty": float(t["qty"][i]),
            "price": float(t["price"][i]),
            "tickIndex": int(t["tick"][i]),
            "coin": SOL_MINT,
            "leverage": 1,
        }

    def _bet(self, k: int, kind: str) -> dict[str, Any]:
        b = self.bets
        player = self.ctx.players[int(b["player"][k])]
        data: dict[str, Any] = {
            "id": self._uid("sidebet", k),
            "gameId": self.game_id,
            "playerId": player.player_id,
            "username": player.username,
            "level": player.level,
            "betAmount": float(b["amount"][k]),
            "xPayout": self.rules.sidebet_payout,
            "coinAddress": SOL_MINT,
            "startTick": int(b["start_tick"][k]),
            "endTick": int(b["end_tick"][k]),
            "type": kind,
        }
        if kind == "payout":
            data.update(
                tickIndex=int(b["resolve_tick"][k]),
                won=bool(b["won"][k]),
                payout=float(b["payout"][k]),
                profit=float(b["profit"][k]),
            )
        else:
            data["tickIndex"] = int(b["start_tick"][k])
        return data

    def truth(self) -> dict[str, Any]:
        acted = set(self.trades["player"].tolist()) | set(self.bets["player"].tolist())
        return {
            "round_index": self.index,
            "rug_tick": self.rug,
            "instarug": self.rug <= self.rules.instarug_ticks,
            "peak": max(self.prices),
            "server_seed": self.seed if self.fair_version else None,
            "trades": len(self.trades["tick"]),
            "forced_sells": int(self.trades["forced"].sum()),
            "sidebets": len(self.bets["start_tick"]),
            "sidebets_won": int(self.bets["won"].sum()),
            "god_candle_ticks": self.god_ticks,
            "players": {
                self.ctx.players[p].player_id: self.ctx.players[p].persona for p in sorted(acted)
            },
        }


@dataclass
class _Context:
    rules: GameRules
    seed: int
    players: list[Player]
    options: RecordingOptions
    history: list[dict[str, Any]] = field(default_factory=list)

    def game_id_after(self, index: int) -> str:
        return game_id(self.seed, index + 1, self.rules.name)

    def push_history(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        self.history = [entry, *self.history][: self.options.history_size]
        return list(self.history)


def simulate_recording(
    rules: GameRules,
    n_games: int,
    seed: int,
    *,
    n_players: int = 20,
    players: list[Player] | None = None,
    first_round: int = 0,
    options: RecordingOptions | None = None,
) -> Iterator[RecordedRound]:
    """The rounds `first_round ..` of `seed` with their players, one round at a time."""
    options = options or RecordingOptions()
    ctx = _Context(rules, seed, players or make_players(n_players, seed), options)
    clock = int(options.start.timestamp() * 1000)
    leader = None
    for lo in range(first_round, first_round + n_games, options.chunk_rounds):
        n = min(options.chunk_rounds, first_round + n_games - lo)
        if options.prng == "seedrandom":
            rounds = seedrandom_rounds(rules, n, seed, first_round=lo)
        else:
            rounds = simulate_rounds(rules, n, seed, first_round=lo)
        activity = simulate_players(rules, rounds, ctx.players, leader=leader)
        leader = activity.leader
        for row in range(n):
            one = _Round(ctx, rounds, activity, row)
            events, clock = one.events(clock)
            yield RecordedRound(one.game_id, one.truth(), events)


class LineEncoder:
    """Numbers events and renders them as legacy JSONL lines."""

    def __init__(self, options: RecordingOptions) -> None:
        self.options, self.seq = options, 0

    def encode(self, event: Event) -> str:
        self.seq += 1
        data: Any = event.data
        every = self.options.trace_every
        if every and self.seq % every == 0:
            trace = _uid("trace", self.seq).replace("-", "")
            data = [{"__trace": True, "traceparent": f"00-{trace}-{trace[:16]}-01"}, data]
        ts = datetime.fromtimestamp(event.ts_ms / 1000, UTC)
        line = {
            "seq": self.seq,
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{event.ts_ms % 1000:03d}Z",
            "event": event.event,
            "data": data,
            "source": self.options.source,
            "direction": "received",
        }
        return _ENCODE(line)


class TruthWriter:
    """Streams the ground-truth JSON: the players, then one entry per game id."""

    def __init__(self, out: TextIO, rules: GameRules, seed: int, players: list[Player]) -> None:
        self._out, self._first = out, True
        header = {
            "mode": rules.name,
            "seed": seed,
            "rules": rules.model_dump(mode="json"),
            "players": [p.__dict__ for p in players],
        }
        out.write(json.dumps(header, sort_keys=True)[:-1] + ', "games": {')

    def add(self, game_id: str, truth: dict[str, Any]) -> None:
        self._out.write(("" if self._first else ", ") + f"{json.dumps(game_id)}: ")
        self._out.write(json.dumps(truth, sort_keys=True))
        self._first = False

    def close(self) -> None:
        self._out.write("}}\n")


@dataclass
class RecordingSummary:
    games: int = 0
    events: int = 0
    trades: int = 0
    sidebets: int = 0


def _open(path: Path | None) -> AbstractContextManager[TextIO | None]:
    return path.open("w", encoding="utf-8") if path else nullcontext(None)


def write_recording(
    rules: GameRules,
    n_games: int,
    seed: int,
    out: Path | None,
    *,
    truth: Path | None = None,
    n_players: int = 20,
    options: RecordingOptions | None = None,
    on_line: Callable[[str, int], None] | None = None,
    on_round: Callable[[RecordingSummary], None] | None = None,
) -> RecordingSummary:
    """Write `n_games` rounds to `out` (JSONL) and their ground truth to `truth`.

    `on_line(line, ts_ms)` also receives every line (e.g. to publish it) and
    `on_round(summary so far)` is called after each round (progress)."""
    options = options or RecordingOptions()
    players = make_players(n_players, seed)
    encoder, summary = LineEncoder(options), RecordingSummary()
    with _open(out) as stream, _open(truth) as truth_stream:
        truth_writer = TruthWriter(truth_stream, rules, seed, players) if truth_stream else None
        for recorded in simulate_recording(rules, n_games, seed, players=players, options=options):
            for event in recorded.events:
                line = encoder.encode(event)
                if stream:
                    stream.write(line + "\n")
                if on_line:
                    on_line(line, event.ts_ms)
            if truth_writer:
                truth_writer.add(recorded.game_id, recorded.truth)
            summary.games += 1
            summary.events += len(recorded.events)
            summary.trades += recorded.truth["trades"]
            summary.sidebets += recorded.truth["sidebets"]
            if on_round:
                on_round(summary)
        if truth_writer:
            truth_writer.close()
    return summary
