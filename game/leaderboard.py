"""The per-tick leaderboard of one round, computed from its trades and sidebets.

Every quantity the feed's `leaderboard[]` carries (position, average cost, invested,
regular and sidebet PnL, the active sidebet) is a running sum over the round's ticks,
so it is built with numpy cumulative sums over a [ticks, players] grid; only the
top-10 rows of each tick become dicts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from game.personas import BUY, Player


class RoundLeaderboard:
    """Leaderboards of one round at ticks 0..rug_tick (the rug tick marks at rug price)."""

    def __init__(
        self,
        marks: np.ndarray,
        trades: dict[str, np.ndarray],
        bets: dict[str, np.ndarray],
        players: list[Player],
        payout_factor: float,
        size: int = 10,
    ) -> None:
        self._players, self._size = players, size
        n_ticks, n_players = len(marks), len(players)
        grid = (n_ticks, n_players)
        qty, cash, invested, bought_qty, staked, bet_cash = (np.zeros(grid) for _ in range(6))
        buy = trades["kind"] == BUY
        at = (trades["tick"], trades["player"])
        np.add.at(qty, at, np.where(buy, trades["qty"], -trades["qty"]))
        np.add.at(cash, at, np.where(buy, -trades["amount"], trades["amount"]))
        np.add.at(invested, at, np.where(buy, trades["amount"], 0.0))
        np.add.at(bought_qty, at, np.where(buy, trades["qty"], 0.0))
        np.add.at(staked, (bets["start_tick"], bets["player"]), bets["amount"])
        np.add.at(bet_cash, (bets["start_tick"], bets["player"]), -bets["amount"])
        np.add.at(bet_cash, (bets["resolve_tick"], bets["player"]), bets["payout"])
        for a in (qty, cash, invested, bought_qty, staked, bet_cash):
            np.cumsum(a, axis=0, out=a)
        self.position = np.where(np.abs(qty) < 1e-12, 0.0, qty)
        self.invested = invested
        self.avg_cost = np.where(
            self.position > 0, invested / np.where(bought_qty > 0, bought_qty, 1), 0.0
        )
        self.regular = cash + self.position * marks[:, None]
        self.sidebet = bet_cash
        self.pnl = self.regular + self.sidebet
        base = invested + staked
        self.pnl_percent = np.where(base > 0, self.pnl / np.where(base > 0, base, 1) * 100, 0.0)
        self.seen = base > 0
        self._fields = np.round(
            np.stack(
                [self.pnl, self.regular, self.sidebet, self.pnl_percent, self.position,
                 self.avg_cost, self.invested],
                axis=-1,
            ),
            9,
        )  # fmt: skip
        self.active_bet = np.full(grid, -1)
        for k, (start, resolve, player) in enumerate(
            zip(bets["start_tick"], bets["resolve_tick"], bets["player"], strict=True)
        ):
            self.active_bet[start:resolve, player] = k
        self._side_bets = [
            {"startedAtTick": start, "end": end, "betAmount": amount, "xPayout": payout_factor}
            for start, end, amount in zip(
                bets["start_tick"].tolist(),
                bets["end_tick"].tolist(),
                bets["amount"].tolist(),
                strict=True,
            )
        ]

    def at(self, tick: int) -> list[dict[str, Any]]:
        """The top players at `tick`, best PnL first, in the feed's field layout."""
        if self._size == 0:
            return []
        seen = np.flatnonzero(self.seen[tick])
        ranked = seen[np.argsort(-self.pnl[tick, seen], kind="stable")][: self._size]
        rows = self._fields[tick, ranked].tolist()
        bets = self.active_bet[tick, ranked].tolist()
        board = []
        for position, (p, k, (pnl, regular, side_pnl, percent, qty, avg, invested)) in enumerate(
            zip(ranked.tolist(), bets, rows, strict=True), start=1
        ):
            player = self._players[p]
            board.append(
                {
                    "id": player.player_id,
                    "username": player.username,
                    "level": player.level,
                    "pnl": pnl,
                    "regularPnl": regular,
                    "sidebetPnl": side_pnl,
                    "shortPnl": 0,
                    "sidebetActive": k >= 0 or None,
                    "sideBet": self._side_bets[k] if k >= 0 else None,
                    "shortPosition": None,
                    "pnlPercent": percent,
                    "hasActiveTrades": qty > 0,
                    "positionQty": qty,
                    "avgCost": avg,
                    "totalInvested": invested,
                    "selectedCoin": None,
                    "position": position,
                }
            )
        return board
