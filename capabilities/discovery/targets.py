"""Targets and the units they are measured on.

Units are chosen so that, when a feature does not predict the target, outcomes are
conditionally independent given the past (a person-period design), which keeps the
tests' p-values honest despite many units per round:
- `rug_within` N: non-overlapping windows per round (ticks W, W+N, W+2N, ... while
  alive), outcome "the rug comes within the next N ticks";
- `next_return_sign` / `next_return_size`: every live tick (strided when there are very
  many), outcome the next tick's return: its sign, or its size |r|;
- `player_next_action`: every tick a player holds a position, outcome "sells at the next
  tick"; units carry player-level features (entry multiple, ticks held, stake).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from capabilities.discovery.panel import Panel

WARMUP = 30  # ticks of history the windowed features need
MAX_UNITS = 300_000
TARGETS = ("rug_within", "next_return_sign", "next_return_size", "player_next_action")


@dataclass(frozen=True)
class Units:
    target: str
    binary: bool
    row: np.ndarray
    tick: np.ndarray
    y: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # unit-level features

    def __len__(self) -> int:
        return len(self.row)


def _thin(rows: np.ndarray, ticks: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    if len(rows) <= limit:
        return rows, ticks
    keep = np.linspace(0, len(rows) - 1, limit).astype(np.int64)
    return rows[keep], ticks[keep]


def rug_within(panel: Panel, horizon: int) -> Units:
    rug = panel.rug_tick
    per_round = np.maximum(0, (rug - 1 - WARMUP) // horizon + 1)
    rows = np.repeat(np.arange(len(rug)), per_round)
    starts = np.concatenate([np.arange(k) for k in per_round]) if len(rows) else rows
    ticks = WARMUP + starts * horizon
    y = (rug[rows] <= ticks + horizon).astype(np.float64)
    return Units("rug_within", True, rows, ticks, y)


def next_return(panel: Panel, size: bool) -> Units:
    price = panel.series["price"]
    rug = panel.rug_tick
    counts = np.maximum(0, rug - 1 - WARMUP)  # ticks t in [WARMUP, rug-2]: t+1 has a price
    rows = np.repeat(np.arange(len(rug)), counts)
    ticks = np.concatenate([np.arange(WARMUP, WARMUP + k) for k in counts]) if len(rows) else rows
    rows, ticks = _thin(rows, ticks, MAX_UNITS)
    now, nxt = price[rows, ticks], price[rows, ticks + 1]
    ret = np.where(now > 0, nxt / np.where(now > 0, now, 1.0) - 1, 0.0)
    if size:
        return Units("next_return_size", False, rows, ticks, np.abs(ret))
    return Units("next_return_sign", True, rows, ticks, (ret > 0).astype(np.float64))


def _holding_spans(panel: Panel) -> list[tuple[int, int, int, int, float, float, bool]]:
    """(row, from tick, to tick (exclusive), entry tick, qty, cost, ends in a sell) for
    every stretch a player held a position between two of its decisions."""
    trades = panel.trades
    assert trades is not None
    spans = []
    order = np.lexsort((trades.tick, trades.player, trades.row))
    key, qty, cost, entry, prev = None, 0.0, 0.0, 0, 0
    for i in order:
        r, t = int(trades.row[i]), int(trades.tick[i])
        if key != (r, int(trades.player[i])):
            if key is not None and qty > 0:
                spans.append(
                    (key[0], prev, int(panel.rug_tick[key[0]]) - 1, entry, qty, cost, False)
                )
            key, qty, cost, entry, prev = (r, int(trades.player[i])), 0.0, 0.0, t, t
        if t >= panel.rug_tick[r]:  # forced sells at the rug are not decisions
            continue
        selling = bool(trades.kind[i] == 1)
        if qty > 0 and t > prev:
            spans.append((r, prev, t, entry, qty, cost, selling))
        bought = trades.amount[i] / trades.price[i] if trades.price[i] > 0 else 0.0
        if not selling:
            entry = t if qty <= 0 else entry
            qty, cost = qty + bought, cost + float(trades.amount[i])
        elif qty > 0:
            sold = min(qty, bought)
            cost, qty = cost * (1 - sold / qty), qty - sold
        prev = t
    if key is not None and qty > 0:
        spans.append((key[0], prev, int(panel.rug_tick[key[0]]) - 1, entry, qty, cost, False))
    return spans


def player_next_action(panel: Panel) -> Units:
    if panel.trades is None or len(panel.trades) == 0:
        raise ValueError("player_next_action needs trades; the panel has none")
    price = panel.series["price"]
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("row", "tick", "y", "mult", "held", "sol")
    }
    for r, start, stop, entry, qty, cost, sells in _holding_spans(panel):
        if stop <= start or qty <= 0:
            continue
        span = np.arange(start, stop)
        parts["row"].append(np.full(len(span), r))
        parts["tick"].append(span)
        parts["y"].append((span + 1 == stop) & sells)
        parts["mult"].append(
            price[r, span] * qty / cost if cost > 0 else np.full(len(span), np.nan)
        )
        parts["held"].append((span - entry).astype(np.float64))
        parts["sol"].append(np.full(len(span), cost))
    if not parts["row"]:
        raise ValueError("no player held a position in these rounds")
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    keep = np.arange(len(cat["row"]))
    if len(keep) > MAX_UNITS:
        keep = np.linspace(0, len(keep) - 1, MAX_UNITS).astype(np.int64)
    extra = {
        "entry_multiple": cat["mult"][keep],
        "ticks_held": cat["held"][keep],
        "position_sol": cat["sol"][keep],
    }
    return Units(
        "player_next_action",
        True,
        cat["row"][keep],
        cat["tick"][keep],
        cat["y"][keep].astype(np.float64),
        extra,
    )


def build_units(panel: Panel, target: str, horizon: int = 40) -> Units:
    if target == "rug_within":
        return rug_within(panel, horizon)
    if target == "next_return_sign":
        return next_return(panel, size=False)
    if target == "next_return_size":
        return next_return(panel, size=True)
    if target == "player_next_action":
        return player_next_action(panel)
    raise ValueError(f"unknown target {target!r}; one of {', '.join(TARGETS)}")
