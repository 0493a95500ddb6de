"""Other players: persona models that trade and place sidebets on simulated rounds.

A persona turns a round's chart into intents (buy an amount at a tick, sell a fraction
of the position at a tick, place a sidebet at a tick), found with numpy over all rounds
at once; `settle` then prices them in order (commission, bet limits) and force-sells
whatever is still held at the rug, at the rug price, as an ordinary sell, as the real
game does. Draws come from the simulator's side stream of (seed, round index), so a
round's players do not depend on how rounds are batched. The copy trader mirrors the
player who topped the previous round, with a delay, which links consecutive rounds:
`simulate_players` takes and returns that leader.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from game.rules import GameRules
from game.simulator import Rounds, side_uniform

PERSONAS = (
    "early_seller",
    "diamond_hands",
    "dip_buyer",
    "sidebet_regular",
    "whale",
    "random",
    "copy_trader",
)
BUY, SELL = 0, 1
_NEVER = np.iinfo(np.int64).max // 4
_SYLLABLES = ("ka", "zu", "mo", "ri", "pe", "ton", "sol", "lux", "dex", "ni", "ro", "va")

# per-player parameter ranges (uniform), drawn once per player
_PARAM_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "early_seller": {"target": (1.2, 2.0), "amount": (0.02, 0.1), "presale": (0.3, 0.7)},
    "diamond_hands": {"target": (8.0, 30.0), "amount": (0.01, 0.05), "presale": (0.5, 0.9)},
    "dip_buyer": {"dip": (0.2, 0.4), "rebound": (1.15, 1.6), "amount": (0.02, 0.1)},
    "sidebet_regular": {"first_tick": (0.0, 220.0), "amount": (0.005, 0.05),
                        "keep_going": (0.5, 0.95), "gap": (0.0, 10.0)},
    "whale": {"amount": (0.5, 1.0), "target": (1.3, 2.5), "target2": (1.5, 3.0),
              "presale": (0.4, 0.8)},
    "random": {"trips": (0.5, 3.0), "amount": (0.005, 0.05), "sidebet": (0.05, 0.3)},
    "copy_trader": {"delay": (1.0, 4.99), "scale": (0.2, 1.0)},
}  # fmt: skip
_ACTIVITY = {"whale": 0.6, "random": 0.7, "diamond_hands": 0.8}


@dataclass(frozen=True)
class Player:
    """One simulated player; `params` are the persona's parameters for every round."""

    player_id: str
    username: str
    level: int
    persona: str
    params: dict[str, float] = field(default_factory=dict)


def make_players(n_players: int, seed: int, personas: Sequence[str] | None = None) -> list[Player]:
    """`n_players` players; every persona appears once before any repeats (or `personas`)."""
    rng = np.random.default_rng([seed, 0x9E75])
    unknown = set(personas or ()) - set(PERSONAS)
    if unknown:
        raise ValueError(f"unknown personas {sorted(unknown)}; known: {', '.join(PERSONAS)}")
    chosen = list(personas or ())
    while len(chosen) < n_players:
        chosen.append(PERSONAS[len(chosen)] if len(chosen) < len(PERSONAS) else
                      PERSONAS[int(rng.integers(len(PERSONAS)))])  # fmt: skip
    players = []
    for i, persona in enumerate(chosen[:n_players]):
        digest = hashlib.sha256(f"player:{seed}:{i}".encode()).hexdigest()
        name = "".join(_SYLLABLES[int(c, 16) % len(_SYLLABLES)] for c in digest[:3])
        params = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in _PARAM_RANGES[persona].items()}
        params["activity"] = _ACTIVITY.get(persona, 0.9)
        players.append(
            Player(
                player_id=f"did:privy:sim{digest[:21]}",
                username=f"{name.capitalize()}{int(digest[3:6], 16) % 1000}",
                level=int(rng.integers(1, 81)),
                persona=persona,
                params=params,
            )
        )
    return players


@dataclass(frozen=True)
class Trades:
    """Settled trades, one entry per trade, ordered by (round row, tick, seq)."""

    row: np.ndarray
    tick: np.ndarray
    player: np.ndarray
    kind: np.ndarray  # BUY or SELL
    amount: np.ndarray  # SOL paid (buy) or received (sell)
    qty: np.ndarray
    price: np.ndarray
    forced: np.ndarray  # a sell at the rug (ground truth only: the feed has no flag)

    def __len__(self) -> int:
        return len(self.row)


@dataclass(frozen=True)
class Sidebets:
    """Sidebets, one entry per bet: won iff the rug came within its window."""

    row: np.ndarray
    player: np.ndarray
    start_tick: np.ndarray
    end_tick: np.ndarray  # start + window, as the feed reports it
    resolve_tick: np.ndarray  # the rug tick (won) or the first tick past the window
    amount: np.ndarray
    won: np.ndarray
    payout: np.ndarray  # returned to the player (0 when lost)
    profit: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


@dataclass(frozen=True)
class Activity:
    """What every player did in a batch of rounds, and who led the last round."""

    trades: Trades
    sidebets: Sidebets
    pnl: np.ndarray  # [rounds, players] SOL
    leader: int | None


class _Draws:
    """Per-round uniforms for one player, numbered so each draw has its own counter."""

    def __init__(self, seed: int, indices: np.ndarray, player: int) -> None:
        self._seed, self._indices, self._base = seed, indices, player * 4096

    def __call__(self, k: int) -> np.ndarray:
        return side_uniform(self._seed, self._indices, self._base + k)


def _first_at_or_after(mask: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Per row, the first column >= start where mask holds; _NEVER if none."""
    cols = np.arange(mask.shape[1])
    hit = mask & (cols[None, :] >= start[:, None])
    first = hit.argmax(axis=1)
    return np.where(hit[np.arange(len(first)), first], first, _NEVER)


def _bet(rules: GameRules, mean: float, u: np.ndarray) -> np.ndarray:
    return np.clip(np.round(mean * (0.5 + u), 3), rules.min_bet, rules.max_bet)


def _entry(d: _Draws, p: dict[str, float], k: int, latest: int) -> np.ndarray:
    """Presale (tick 0) with probability `presale`, else a tick in 1..latest."""
    return np.where(d(k) < p["presale"], 0, 1 + (d(k + 1) * latest).astype(np.int64))


def _intents(
    rules: GameRules, rounds: Rounds, persona: str, p: dict[str, float], d: _Draws
) -> list[tuple[np.ndarray, np.ndarray, int, np.ndarray]]:
    """(row mask, tick, BUY/SELL, amount or fraction) legs of one player over all rounds."""
    prices, n = rounds.prices, len(rounds)
    rows = np.arange(n)
    active = d(0) < p["activity"]
    if persona in ("early_seller", "diamond_hands", "whale"):
        buy = _entry(d, p, 1, 15 if persona == "whale" else 20)
        amount = _bet(rules, p["amount"] * (rules.max_bet if persona == "whale" else 1.0), d(3))
        ok = active & (buy < rounds.rug_tick)
        entry = prices[rows, np.minimum(buy, prices.shape[1] - 1)]
        sell = _first_at_or_after(prices >= (entry * p["target"])[:, None], buy + 1)
        legs = [(ok, buy, BUY, amount)]
        if persona == "whale":
            sell2 = _first_at_or_after(
                prices >= (entry * p["target"] * p["target2"])[:, None], sell + 1
            )
            return [*legs, (ok, sell, SELL, np.full(n, 0.5)), (ok, sell2, SELL, np.ones(n))]
        return [*legs, (ok, sell, SELL, np.ones(n))]
    if persona == "dip_buyer":
        peak = np.fmax.accumulate(np.nan_to_num(prices, nan=0.0), axis=1)
        buy = _first_at_or_after(prices <= peak * (1 - p["dip"]), np.ones(n, dtype=np.int64))
        ok = active & (buy < rounds.rug_tick)
        entry = prices[rows, np.minimum(buy, prices.shape[1] - 1)]
        sell = _first_at_or_after(prices >= (entry * p["rebound"])[:, None], buy + 1)
        return [(ok, buy, BUY, _bet(rules, p["amount"], d(1))), (ok, sell, SELL, np.ones(n))]
    if persona == "random":
        legs = []
        trips = (d(1) * 2 * p["trips"]).astype(np.int64)
        for k in range(6):
            a, b = (d(10 + 2 * k) * rounds.rug_tick).astype(np.int64), d(11 + 2 * k)
            b = a + 1 + (b * 60).astype(np.int64)
            ok = active & (k < trips)
            legs += [(ok, a, BUY, _bet(rules, p["amount"], d(30 + k))), (ok, b, SELL, d(40 + k))]
        return legs
    return []


def _sidebet_starts(
    rules: GameRules, rounds: Rounds, persona: str, p: dict[str, float], d: _Draws
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(row mask, start tick, amount) of each successive sidebet of one player."""
    if persona not in ("sidebet_regular", "random"):
        return []
    active = d(0) < p["activity"]
    if persona == "random":
        start = (d(50) * 300).astype(np.int64)
        return [(active & (d(51) < p["sidebet"]), start, _bet(rules, p["amount"], d(52)))]
    bets = []
    start = (d(60) * p["first_tick"]).astype(np.int64)
    going = active.copy()
    for k in range(12):
        going &= start < rounds.rug_tick
        bets.append((going.copy(), start.copy(), _bet(rules, p["amount"], d(61 + k))))
        lost = rounds.rug_tick > rules.sidebet_last_winning_tick(start)
        going &= lost & (d(80 + k) < p["keep_going"])
        resolve = rules.sidebet_last_winning_tick(start) + 1
        start = resolve + rules.sidebet_cooldown_ticks + (d(100 + k) * p["gap"]).astype(np.int64)
    return bets


def _flatten(
    legs: list[tuple[int, list[tuple[np.ndarray, np.ndarray, int, np.ndarray]]]],
    rug_tick: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """(row, tick, player, kind, value) of the legs that happen before their round's rug."""
    parts = []
    for player, player_legs in legs:
        for order, (mask, tick, kind, value) in enumerate(player_legs):
            rows = np.flatnonzero(mask & (tick < rug_tick))
            parts.append((rows, tick[rows], np.full(len(rows), player), np.full(len(rows), kind),
                          value[rows], np.full(len(rows), order)))  # fmt: skip
    if not parts:
        return tuple(np.zeros(0, dtype=t) for t in (int, int, int, int, float))
    row, tick, player, kind, value, order = (np.concatenate(c) for c in zip(*parts, strict=True))
    by = np.lexsort((order, tick, player, row))
    return row[by], tick[by], player[by], kind[by], value[by]


def settle(
    rules: GameRules, rounds: Rounds, legs: tuple[np.ndarray, ...]
) -> tuple[list[tuple[int, int, int, int, float, float, float, bool]], list[float]]:
    """Price the legs in order per (round, player); force-sell what is held at the rug.

    Returns trades as (row, tick, player, kind, amount, qty, price, forced) and, per
    trade, the fraction of the position it sold (for copy traders)."""
    c = rules.commission
    trades: list[tuple[int, int, int, int, float, float, float, bool]] = []
    fractions: list[float] = []
    position, key = 0.0, None

    def close(row: int, player: int) -> None:
        if position > 0.0:
            rug = int(rounds.rug_tick[row])
            amount = position * rules.rug_price * (1 - c)
            trades.append((row, rug, player, SELL, amount, position, rules.rug_price, True))
            fractions.append(1.0)

    row_a, tick_a, player_a, kind_a, value_a = legs
    for row, tick, player, kind, value in zip(
        row_a.tolist(),
        tick_a.tolist(),
        player_a.tolist(),
        kind_a.tolist(),
        value_a.tolist(),
        strict=True,
    ):
        if key != (row, player):
            if key is not None:
                close(*key)
            key, position = (row, player), 0.0
        price = float(rounds.prices[row, tick])
        if kind == BUY and price > 0.0:
            qty = value * (1 - c) / price
            position += qty
            trades.append((row, tick, player, BUY, value, qty, price, False))
            fractions.append(0.0)
        elif kind == SELL and position > 0.0:
            qty = position * min(max(value, 0.0), 1.0)
            if qty <= 0.0:
                continue
            fractions.append(qty / position)
            position -= qty
            trades.append((row, tick, player, SELL, qty * price * (1 - c), qty, price, False))
    if key is not None:
        close(*key)
    return trades, fractions


def _sidebets(
    rules: GameRules,
    rounds: Rounds,
    starts: list[tuple[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]],
) -> Sidebets:
    parts = [
        (rows, np.full(len(rows), player), start[rows], amount[rows])
        for player, bets in starts
        for mask, start, amount in bets
        for rows in [np.flatnonzero(mask & (start < rounds.rug_tick))]
    ]
    if parts:
        row, player, start, amount = (np.concatenate(c) for c in zip(*parts, strict=True))
    else:
        row, player, start, amount = (np.zeros(0, dtype=t) for t in (int, int, int, float))
    by = np.lexsort((player, start, row))
    row, player, start, amount = row[by], player[by], start[by], amount[by]
    rug = rounds.rug_tick[row]
    last = rules.sidebet_last_winning_tick(start)
    won = rug <= last
    returned = rules.sidebet_payout + (1.0 if rules.payout_semantics == "profit" else 0.0)
    payout = np.where(won, amount * returned, 0.0)
    return Sidebets(
        row=row,
        player=player,
        start_tick=start,
        end_tick=start + rules.sidebet_window,
        resolve_tick=np.where(won, rug, last + 1),
        amount=amount,
        won=won,
        payout=payout,
        profit=payout - amount,
    )


def _pnl(n_rounds: int, n_players: int, trades: list, sidebets: Sidebets) -> np.ndarray:
    pnl = np.zeros((n_rounds, n_players))
    if trades:
        row, _, player, kind, amount = (np.array(c) for c in list(zip(*trades, strict=True))[:5])
        np.add.at(pnl, (row, player), np.where(kind == SELL, amount, -amount))
    np.add.at(pnl, (sidebets.row, sidebets.player), sidebets.profit)
    return pnl


def _leaders(pnl: np.ndarray, played: np.ndarray, followable: np.ndarray,
             leader: int | None) -> tuple[list[int | None], int | None]:  # fmt: skip
    """Who each round's copy traders follow: the top player of the previous round."""
    score = np.where(played & followable[None, :], pnl, -np.inf)
    follow: list[int | None] = []
    for r in range(len(pnl)):
        follow.append(leader)
        if np.isfinite(score[r]).any():
            leader = int(score[r].argmax())
    return follow, leader


def simulate_players(
    rules: GameRules,
    rounds: Rounds,
    players: Sequence[Player],
    *,
    seed: int | None = None,
    leader: int | None = None,
) -> Activity:
    """Trades and sidebets of `players` in `rounds`; `leader` is who topped the round
    before the first one (for copy traders; None = nobody to copy in the first round)."""
    seed = rounds.seed if seed is None else seed
    indices = np.arange(rounds.first_round, rounds.first_round + len(rounds))
    draws = [_Draws(seed, indices, i) for i in range(len(players))]
    legs = [
        (i, _intents(rules, rounds, p.persona, p.params, draws[i])) for i, p in enumerate(players)
    ]
    starts = [(i, _sidebet_starts(rules, rounds, p.persona, p.params, draws[i]))
              for i, p in enumerate(players)]  # fmt: skip
    sidebets = _sidebets(rules, rounds, starts)
    trades, fractions = settle(rules, rounds, _flatten(legs, rounds.rug_tick))
    pnl = _pnl(len(rounds), len(players), trades, sidebets)
    played = np.zeros_like(pnl, dtype=bool)
    for row, _, player, *_ in trades:
        played[row, player] = True
    played[sidebets.row, sidebets.player] = True
    copiers = [i for i, p in enumerate(players) if p.persona == "copy_trader"]
    followable = np.array([p.persona != "copy_trader" for p in players])
    follow, last_leader = _leaders(pnl, played, followable, leader)
    if copiers:
        trades += _copy_trades(rules, rounds, players, copiers, follow, trades, fractions, draws)
        pnl = _pnl(len(rounds), len(players), trades, sidebets)
    trades.sort(key=lambda t: (t[0], t[1], t[7], t[2]))
    columns = list(zip(*trades, strict=True)) or [()] * 8
    dtypes = (np.int64, np.int64, np.int64, np.int8, np.float64, np.float64, np.float64, bool)
    arrays = [np.array(col, dtype=dt) for col, dt in zip(columns, dtypes, strict=True)]
    return Activity(Trades(*arrays), sidebets, pnl, last_leader)


def _copy_trades(
    rules: GameRules,
    rounds: Rounds,
    players: Sequence[Player],
    copiers: list[int],
    follow: list[int | None],
    trades: list,
    fractions: list[float],
    draws: list[_Draws],
) -> list:
    """Mirror the followed player's own trades `delay` ticks later, buys scaled."""
    parts = []
    for c in copiers:
        p = players[c].params
        active = draws[c](0) < p["activity"]
        picked = [(t, f) for t, f in zip(trades, fractions, strict=True)
                  if not t[7] and t[2] == follow[t[0]] and active[t[0]]]  # fmt: skip
        for (row, tick, _, kind, amount, *_), fraction in picked:
            if tick + int(p["delay"]) < rounds.rug_tick[row]:
                value = _bet(rules, amount * p["scale"], 0.5) if kind == BUY else fraction
                parts.append((row, tick + int(p["delay"]), c, kind, float(value)))
    if not parts:
        return []
    row, tick, player, kind, value = (np.array(col) for col in zip(*parts, strict=True))
    by = np.lexsort((tick, player, row))
    return settle(rules, rounds, (row[by], tick[by], player[by], kind[by], value[by]))[0]
