"""The discovery panel from stored rounds: ticks, trades and sidebets of a mode."""

from __future__ import annotations

import numpy as np
import psycopg

from capabilities.discovery.panel import Panel, TradeLog, build_panel
from capabilities.engines.game_models.registry import load_history
from tools.errors import NotFound

_TRADES_SQL = """
SELECT game_id, tick, player_id, type, amount, price FROM trades
WHERE game_id = ANY(%(ids)s) AND tick IS NOT NULL AND type IN ('buy', 'sell')
  AND amount IS NOT NULL AND price IS NOT NULL
"""
_SIDEBETS_SQL = "SELECT game_id, start_tick FROM sidebets WHERE game_id = ANY(%(ids)s)"


def load_panel(conn: psycopg.Connection, mode: str, rounds: int) -> Panel:
    """The latest `rounds` rounds of `mode`, oldest first, with their trades and sidebets."""
    history = load_history(conn, mode, rounds)
    whole = history.entry == 0  # features read each path from tick 0: truncated ones are left out
    ids = [game_id for game_id, keep in zip(history.ids, whole, strict=True) if keep]
    rug, prices = history.rug[whole], history.prices[whole]
    if not ids:
        raise NotFound(
            f"no finished rounds of mode {mode!r} are stored: import recordings with "
            f"`agent-service import PATH... --mode {mode}` or store the live feed with "
            "`agent-service consume`, then submit the job again"
        )
    order = np.arange(len(ids))[::-1]  # the queries return newest first
    row_of = {game_id: i for i, game_id in enumerate(ids)}
    trades = conn.execute(_TRADES_SQL, {"ids": ids}).fetchall()
    players: dict[str, int] = {}
    if trades:
        log = TradeLog(
            row=np.array([row_of[t[0]] for t in trades]),
            tick=np.array([t[1] for t in trades], dtype=np.int64),
            player=np.array([players.setdefault(t[2] or "", len(players)) for t in trades]),
            kind=np.array([0 if t[3] == "buy" else 1 for t in trades]),
            amount=np.array([t[4] for t in trades], dtype=np.float64),
            price=np.array([t[5] for t in trades], dtype=np.float64),
        )
    bets = conn.execute(_SIDEBETS_SQL, {"ids": ids}).fetchall()
    sidebets = (
        (np.array([row_of[b[0]] for b in bets]), np.array([b[1] for b in bets], dtype=np.int64))
        if bets
        else None
    )
    panel = build_panel(prices, rug, log if trades else None, sidebets)
    return reorder(panel, order)


def reorder(panel: Panel, order: np.ndarray) -> Panel:
    """The same panel with rows in `order` (row i of the result is row order[i])."""
    new_row = np.empty_like(order)
    new_row[order] = np.arange(len(order))
    trades = panel.trades
    if trades is not None:
        trades = TradeLog(new_row[trades.row], trades.tick, trades.player, trades.kind,
                          trades.amount, trades.price)  # fmt: skip
    sidebets = panel.sidebet_ticks
    if sidebets is not None:
        sidebets = (new_row[sidebets[0]], sidebets[1])
    return Panel(
        {k: v[order] for k, v in panel.series.items()},
        panel.rug_tick[order],
        trades,
        sidebets,
        panel.names,
    )
