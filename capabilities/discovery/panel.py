"""The data feature discovery mines: rounds as [rounds, ticks] series, and trades.

Rows are rounds in time order (oldest first), which the held-out split relies on. The
same panel is built from the database (`capabilities.discovery.history`) or from
simulated rounds in tests and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WHALE_SOL = 0.5  # a trade at least this large is a whale's
TRADE_SERIES = ("buys", "sells", "buy_volume", "sell_volume", "whale_volume")


@dataclass(frozen=True)
class TradeLog:
    """Trades of a panel's rounds: one entry per trade; `kind` 0 = buy, 1 = sell."""

    row: np.ndarray
    tick: np.ndarray
    player: np.ndarray  # integer player index
    kind: np.ndarray
    amount: np.ndarray  # SOL
    price: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


@dataclass(frozen=True)
class Panel:
    series: dict[str, np.ndarray]  # name -> [rounds, ticks] float64, NaN after the round
    rug_tick: np.ndarray  # [rounds]
    trades: TradeLog | None = None
    sidebet_ticks: tuple[np.ndarray, np.ndarray] | None = None  # (row, start tick)
    names: frozenset[str] = field(default=frozenset())

    @property
    def rounds(self) -> int:
        return len(self.rug_tick)


def _per_tick(
    shape: tuple[int, int], row: np.ndarray, tick: np.ndarray, w: np.ndarray
) -> np.ndarray:
    out = np.zeros(shape)
    ok = tick < shape[1]
    np.add.at(out, (row[ok], tick[ok]), w[ok])
    return out


def build_panel(
    prices: np.ndarray,
    rug_tick: np.ndarray,
    trades: TradeLog | None = None,
    sidebet_ticks: tuple[np.ndarray, np.ndarray] | None = None,
) -> Panel:
    """Series for the expression language: `tick`, `price`, and with trades `buys`,
    `sells`, `buy_volume`, `sell_volume`, `whale_volume`, `sidebets` per tick."""
    prices = np.asarray(prices, dtype=np.float64)
    rug = np.asarray(rug_tick, dtype=np.int64)
    shape = prices.shape
    alive = np.isfinite(prices)
    series = {
        "price": prices,
        "tick": np.where(
            alive, np.broadcast_to(np.arange(shape[1], dtype=np.float64), shape), np.nan
        ),
    }
    if trades is not None:
        one = np.ones(len(trades))
        buy, sell = trades.kind == 0, trades.kind == 1
        whale = trades.amount >= WHALE_SOL
        for name, mask, weight in (
            ("buys", buy, one),
            ("sells", sell, one),
            ("buy_volume", buy, trades.amount),
            ("sell_volume", sell, trades.amount),
            ("whale_volume", whale, trades.amount),
        ):
            counts = _per_tick(shape, trades.row[mask], trades.tick[mask], weight[mask])
            series[name] = np.where(alive, counts, np.nan)
    if sidebet_ticks is not None:
        row, tick = sidebet_ticks
        series["sidebets"] = np.where(alive, _per_tick(shape, row, tick, np.ones(len(row))), np.nan)
    return Panel(series, rug, trades, sidebet_ticks, frozenset(series))
