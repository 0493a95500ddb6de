"""What players did, as arrays: rounds in time order, their price paths, trades, sidebets.

Profiles, archetypes and the next-action model all read one `History`, built from the
game tables (`load_history`) or straight from simulated rounds (`from_activity`, for
tests and benches), so both paths run the same code. A sell at or after the rug tick is
the game liquidating a position (the feed has no flag for it): it counts for PnL but
is not an action the player chose (`forced`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from tools.postgres import Database

if TYPE_CHECKING:
    from game.personas import Activity, Player
    from game.simulator import Rounds

BUY, SELL, SIDEBET, NONE = 0, 1, 2, 3
ACTIONS = ("buy", "sell", "sidebet", "none")


@dataclass
class History:
    """Rounds `0..R-1` oldest first; trades ordered by (round, player, tick)."""

    game_ids: list[str]
    modes: list[str]
    rug: np.ndarray  # [R] rug tick (or one past the last tick seen)
    prices: list[np.ndarray]  # per round, price at ticks 0..rug-1 (forward-filled)
    player_ids: list[str]
    usernames: list[str | None]
    levels: list[int | None]
    t_round: np.ndarray  # trades
    t_player: np.ndarray
    t_tick: np.ndarray
    t_kind: np.ndarray  # BUY or SELL
    t_amount: np.ndarray
    t_qty: np.ndarray
    t_price: np.ndarray
    s_round: np.ndarray  # sidebets
    s_player: np.ndarray
    s_start: np.ndarray
    s_end: np.ndarray  # end tick as the feed reports it
    s_amount: np.ndarray
    s_payout: np.ndarray  # returned to the player (0 lost, NaN open/unknown)
    ended_at: datetime | None = None
    t_forced: np.ndarray = field(init=False)
    _flat_prices: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = field(
        init=False, default=None, repr=False
    )

    def __post_init__(self) -> None:
        by = np.lexsort((self.t_tick, self.t_player, self.t_round))
        for name in ("t_round", "t_player", "t_tick", "t_kind", "t_amount", "t_qty", "t_price"):
            setattr(self, name, np.asarray(getattr(self, name))[by])
        sb = np.lexsort((self.s_start, self.s_player, self.s_round))
        for name in ("s_round", "s_player", "s_start", "s_end", "s_amount", "s_payout"):
            setattr(self, name, np.asarray(getattr(self, name))[sb])
        self.t_forced = (self.t_kind == SELL) & (self.t_tick >= self.rug[self.t_round])

    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._flat_prices is None:
            lengths = np.array([len(p) for p in self.prices], dtype=np.int64)
            offset = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            flat = np.concatenate([*self.prices, [1.0]]).astype(float)
            peak = np.concatenate([*(np.maximum.accumulate(p) for p in self.prices), [1.0]])
            self._flat_prices = (flat, peak, offset, lengths)
        return self._flat_prices

    def price_at(self, rounds: np.ndarray, ticks: np.ndarray, *, peak: bool = False) -> np.ndarray:
        """Price (or the highest price so far) at ticks of rounds, clipped to the path."""
        flat, peaks, offset, lengths = self._flat()
        n = lengths[rounds]
        t = np.clip(ticks, 0, np.maximum(n - 1, 0))
        out = (peaks if peak else flat)[offset[rounds] + t]
        return np.where(n > 0, out, 1.0)

    @property
    def n_rounds(self) -> int:
        return len(self.game_ids)

    @property
    def n_players(self) -> int:
        return len(self.player_ids)

    def subset(self, rounds: np.ndarray) -> History:
        """The rounds `rounds` (a boolean mask), renumbered, with the same players."""
        keep = np.flatnonzero(rounds)
        new = np.full(self.n_rounds, -1)
        new[keep] = np.arange(len(keep))
        t, s = rounds[self.t_round], rounds[self.s_round]
        return History(
            [self.game_ids[i] for i in keep],
            [self.modes[i] for i in keep],
            self.rug[keep],
            [self.prices[i] for i in keep],
            self.player_ids,
            self.usernames,
            self.levels,
            new[self.t_round[t]],
            self.t_player[t],
            self.t_tick[t],
            self.t_kind[t],
            self.t_amount[t],
            self.t_qty[t],
            self.t_price[t],
            new[self.s_round[s]],
            self.s_player[s],
            self.s_start[s],
            self.s_end[s],
            self.s_amount[s],
            self.s_payout[s],
            self.ended_at,
        )


def from_activity(rounds: Rounds, activity: Activity, players: Sequence[Player],
                  mode: str = "classic") -> History:  # fmt: skip
    """A History of simulated rounds, with sidebet ends as the feed reports them."""
    t, s = activity.trades, activity.sidebets
    return History(
        list(rounds.game_ids),
        [mode] * len(rounds),
        np.asarray(rounds.rug_tick, dtype=np.int64),
        [rounds.prices[i, : int(rounds.rug_tick[i])] for i in range(len(rounds))],
        [p.player_id for p in players],
        [p.username for p in players],
        [p.level for p in players],
        t.row.astype(np.int64),
        t.player.astype(np.int64),
        t.tick.astype(np.int64),
        t.kind.astype(np.int64),
        t.amount.astype(float),
        t.qty.astype(float),
        t.price.astype(float),
        s.row.astype(np.int64),
        s.player.astype(np.int64),
        s.start_tick.astype(np.int64),
        s.end_tick.astype(np.int64),
        s.amount.astype(float),
        s.payout.astype(float),
    )


_GAMES_SQL = """
SELECT g.game_id, g.mode, g.rug_tick, g.ended_at,
       array_agg(t.tick ORDER BY t.tick), array_agg(t.price ORDER BY t.tick)
FROM games g JOIN ticks t ON t.game_id = g.game_id
WHERE (%(since)s::timestamptz IS NULL OR g.started_at >= %(since)s)
GROUP BY g.game_id
ORDER BY min(t.time), g.game_id
"""
_TRADES_SQL = """
SELECT game_id, player_id, tick, type, amount, qty, price FROM trades
WHERE player_id IS NOT NULL AND tick IS NOT NULL AND type IN ('buy', 'sell')
  AND game_id = ANY(%s)
"""
_SIDEBETS_SQL = """
SELECT game_id, player_id, start_tick, end_tick, amount,
       CASE outcome WHEN 'lost' THEN 0 WHEN 'won' THEN coalesce(payout,
            amount * (coalesce(payout_factor, 5) + 1)) END
FROM sidebets WHERE game_id = ANY(%s) AND player_id <> 'self'
"""
_PLAYERS_SQL = "SELECT player_id, username, level FROM players WHERE player_id = ANY(%s)"


def _path(ticks: Sequence[int], prices: Sequence[float], rug: int) -> np.ndarray:
    """Prices at ticks 0..rug-1 from the ticks seen (forward-filled, back-filled)."""
    path = np.full(rug, np.nan)
    t = np.asarray(ticks, dtype=np.int64)
    ok = t < rug
    path[t[ok]] = np.asarray(prices, dtype=float)[ok]
    seen = np.where(~np.isnan(path), np.arange(rug), 0)
    np.maximum.accumulate(seen, out=seen)
    path = path[seen]
    first = np.flatnonzero(~np.isnan(path))
    if len(first):
        path[: first[0]] = path[first[0]]
    return np.nan_to_num(path, nan=1.0)


def load_history(database: Database, *, since: datetime | None = None) -> History:
    """Every round with ticks (oldest first) and what players did in them."""
    with database.connection() as conn:
        games = conn.execute(_GAMES_SQL, {"since": since}).fetchall()
        ids = [g[0] for g in games]
        trades = conn.execute(_TRADES_SQL, (ids,)).fetchall()
        bets = conn.execute(_SIDEBETS_SQL, (ids,)).fetchall()
        pids = sorted({r[1] for r in trades} | {r[1] for r in bets})
        known = {r[0]: r for r in conn.execute(_PLAYERS_SQL, (pids,)).fetchall()}
    index = {g: i for i, g in enumerate(ids)}
    pindex = {p: i for i, p in enumerate(pids)}
    rugs = []
    for g in games:
        last = max(g[4]) + 1
        rugs.append(int(g[2]) if g[2] is not None else last)
    prices = [_path(g[4], g[5], max(r, 1)) for g, r in zip(games, rugs, strict=True)]
    ended = max((g[3] for g in games if g[3] is not None), default=None)

    def col(rows: list, i: int, dtype: type) -> np.ndarray:
        return np.array([r[i] for r in rows], dtype=dtype)

    trades = [r for r in trades if r[4] is not None and r[5] is not None and r[6] is not None]
    return History(
        ids,
        [g[1] for g in games],
        np.array(rugs, dtype=np.int64),
        prices,
        pids,
        [known[p][1] if p in known else None for p in pids],
        [known[p][2] if p in known else None for p in pids],
        np.array([index[r[0]] for r in trades], dtype=np.int64),
        np.array([pindex[r[1]] for r in trades], dtype=np.int64),
        col(trades, 2, np.int64),
        np.array([BUY if r[3] == "buy" else SELL for r in trades], dtype=np.int64),
        col(trades, 4, float),
        col(trades, 5, float),
        col(trades, 6, float),
        np.array([index[r[0]] for r in bets], dtype=np.int64),
        np.array([pindex[r[1]] for r in bets], dtype=np.int64),
        col(bets, 2, np.int64),
        np.array([r[3] if r[3] is not None else r[2] + 40 for r in bets], dtype=np.int64),
        np.array([r[4] or 0.0 for r in bets], dtype=float),
        np.array([np.nan if r[5] is None else r[5] for r in bets], dtype=float),
        ended,
    )
