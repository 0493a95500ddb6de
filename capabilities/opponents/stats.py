"""Per-player behaviour figures from a History, vectorized over all players at once.

`player_stats` gives, per player, the figures profiles show and archetypes and the
next-action model use: entry tick and price, exit multiple (sell price over the average
cost before the sell), holding time, stakes, sidebet habits, realized PnL and recent
form, each with the number of observations behind it. Medians come with a 95 % interval
(order statistics), means with a normal one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capabilities.opponents.history import BUY, SELL, History

# figures of the archetype space and of the model's player features, in order
FEATURES = (
    "presale_share",
    "entry_tick",
    "entry_drawdown",
    "exit_multiple",
    "hold_ticks",
    "partial_sell_share",
    "stake",
    "trades_per_round",
    "sidebets_per_round",
    "sidebet_first_tick",
    "sidebet_gap",
    "forced_share",
)
# log-scaled before comparing players (heavy right tails)
LOG_FEATURES = frozenset({"exit_multiple", "stake", "hold_ticks"})
# where a player has no observation of a figure, the neutral value it takes
NEUTRAL = {
    "presale_share": 0.0,
    "entry_tick": 300.0,
    "entry_drawdown": 1.0,
    "exit_multiple": 1.0,
    "hold_ticks": 0.0,
    "partial_sell_share": 0.0,
    "stake": 0.0,
    "trades_per_round": 0.0,
    "sidebets_per_round": 0.0,
    "sidebet_first_tick": 300.0,
    "sidebet_gap": 300.0,
    "forced_share": 0.0,
}


@dataclass
class PlayerStats:
    """Figures per player (NaN: no observation); `n` the observations behind each."""

    values: np.ndarray  # [P, len(FEATURES)]
    counts: np.ndarray  # [P, len(FEATURES)]
    rounds_seen: np.ndarray
    rounds_played: np.ndarray
    trades: np.ndarray
    sidebets: np.ndarray
    pnl: np.ndarray
    pnl_ci: np.ndarray  # [P, 2] per-round mean PnL, 95 %
    form: np.ndarray  # recency-weighted PnL per round
    intervals: dict[str, np.ndarray]  # feature -> [P, 2] (medians)
    last_round: np.ndarray  # index of the last round played (-1 never)
    entry_price: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.values[:, FEATURES.index(name)]

    def filled(self) -> np.ndarray:
        """Values with the neutral value where a player has no observation."""
        neutral = np.array([NEUTRAL[f] for f in FEATURES])
        return np.where(np.isnan(self.values), neutral[None, :], self.values)


def _group_medians(
    group: np.ndarray, x: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: median, count and a 95 % order-statistic interval of the median."""
    med = np.full(n_groups, np.nan)
    ci = np.full((n_groups, 2), np.nan)
    count = np.bincount(group, minlength=n_groups).astype(float)
    if len(x) == 0:
        return med, count, ci
    by = np.lexsort((x, group))
    g, xs = group[by], x[by]
    start = np.searchsorted(g, np.arange(n_groups), "left")
    n = count.astype(int)
    has = n > 0
    lo_i = np.floor((n - 1) / 2).astype(int)
    hi_i = np.ceil((n - 1) / 2).astype(int)
    med[has] = 0.5 * (xs[start[has] + lo_i[has]] + xs[start[has] + hi_i[has]])
    half = 1.96 * np.sqrt(n) / 2
    a = np.clip(np.floor(n / 2 - half).astype(int), 0, np.maximum(n - 1, 0))
    b = np.clip(np.ceil(n / 2 + half).astype(int), 0, np.maximum(n - 1, 0))
    ci[has, 0] = xs[start[has] + a[has]]
    ci[has, 1] = xs[start[has] + b[has]]
    return med, count, ci


def trade_state(h: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per trade, before it: position qty, average cost, and whether it sells it all."""
    group = h.t_round * max(h.n_players, 1) + h.t_player
    new = np.ones(len(group), dtype=bool)
    new[1:] = group[1:] != group[:-1]
    starts = np.maximum.accumulate(np.where(new, np.arange(len(group)), 0))
    buy = h.t_kind == BUY
    dq = np.where(buy, h.t_qty, -h.t_qty)
    cost = np.where(buy, h.t_qty * h.t_price, 0.0)
    bq = np.where(buy, h.t_qty, 0.0)

    def before(x: np.ndarray) -> np.ndarray:
        c = np.cumsum(x) - x
        return c - c[starts]

    qty = np.maximum(before(dq), 0.0)
    bought = before(bq)
    avg = np.divide(before(cost), bought, out=np.full(len(group), np.nan), where=bought > 0)
    full = (~buy) & (h.t_qty >= 0.99 * qty)
    return qty, avg, full


def round_pnl(h: History) -> np.ndarray:
    """[R, P] realized PnL in SOL (sells + sidebet returns - buys - stakes)."""
    pnl = np.zeros((h.n_rounds, h.n_players))
    np.add.at(pnl, (h.t_round, h.t_player), np.where(h.t_kind == SELL, h.t_amount, -h.t_amount))
    payout = np.nan_to_num(h.s_payout, nan=0.0)
    np.add.at(pnl, (h.s_round, h.s_player), payout - h.s_amount)
    return pnl


def player_stats(h: History, *, half_life_rounds: float = 20.0) -> PlayerStats:
    """Every player's figures over the rounds of `h`."""
    P, R = h.n_players, h.n_rounds
    played = np.zeros((R, P), dtype=bool)
    played[h.t_round, h.t_player] = True
    played[h.s_round, h.s_player] = True
    any_round = played.any(axis=0)
    first = np.where(any_round, played.argmax(axis=0), R)
    last = np.where(any_round, R - 1 - played[::-1].argmax(axis=0), -1)
    rounds_seen = np.maximum(last - first + 1, 0)
    rounds_played = played.sum(axis=0)
    denom = np.maximum(rounds_played, 1)

    qty, avg, full = trade_state(h)
    own = ~h.t_forced
    buy = (h.t_kind == BUY) & own
    sell = (h.t_kind == SELL) & own
    values = np.full((P, len(FEATURES)), np.nan)
    counts = np.zeros((P, len(FEATURES)))
    intervals: dict[str, np.ndarray] = {}

    def put(name: str, med: np.ndarray, n: np.ndarray, ci: np.ndarray | None = None) -> None:
        i = FEATURES.index(name)
        values[:, i], counts[:, i] = med, n
        if ci is not None:
            intervals[name] = ci

    # first buy of each (round, player): entry tick, price, drawdown from the peak so far
    first_buy = buy.copy()
    key = h.t_round * P + h.t_player
    seen_keys = key[buy]
    _, first_idx = np.unique(seen_keys, return_index=True)
    first_buy[:] = False
    first_buy[np.flatnonzero(buy)[first_idx]] = True
    fb_round, fb_player, fb_tick = h.t_round[first_buy], h.t_player[first_buy], h.t_tick[first_buy]
    dd = h.t_price[first_buy] / np.maximum(h.price_at(fb_round, fb_tick, peak=True), 1e-12)
    med, n, ci = _group_medians(fb_player, fb_tick.astype(float), P)
    put("entry_tick", med, n, ci)
    presale = np.bincount(fb_player, weights=(fb_tick == 0).astype(float), minlength=P)
    put("presale_share", np.where(n > 0, presale / np.maximum(n, 1), np.nan), n)
    med, n, ci = _group_medians(fb_player, dd, P)
    put("entry_drawdown", med, n, ci)
    entry_price, _, _ = _group_medians(fb_player, h.t_price[first_buy], P)

    sold = sell & (avg > 0) & (qty > 0)
    mult = h.t_price[sold] / avg[sold]
    med, n, ci = _group_medians(h.t_player[sold], mult, P)
    put("exit_multiple", med, n, ci)
    partial = np.bincount(h.t_player[sold], weights=(~full[sold]).astype(float), minlength=P)
    put("partial_sell_share", np.where(n > 0, partial / np.maximum(n, 1), np.nan), n)

    # holding time: first buy to the first own sell of the round
    fs = sell.copy()
    _, first_sell_idx = np.unique(key[sell], return_index=True)
    fs[:] = False
    fs[np.flatnonzero(sell)[first_sell_idx]] = True
    buy_tick = dict(zip((fb_round * P + fb_player).tolist(), fb_tick.tolist(), strict=True))
    s_keys = key[fs]
    ok = np.array([k in buy_tick for k in s_keys.tolist()], dtype=bool)
    held = h.t_tick[fs][ok] - np.array([buy_tick[k] for k in s_keys[ok].tolist()], dtype=float)
    med, n, ci = _group_medians(h.t_player[fs][ok], held, P)
    put("hold_ticks", med, n, ci)

    med, n, ci = _group_medians(h.t_player[buy], h.t_amount[buy], P)
    put("stake", med, n, ci)
    n_trades = np.bincount(h.t_player[own], minlength=P)
    put("trades_per_round", np.where(rounds_played > 0, n_trades / denom, np.nan), rounds_played)
    n_bets = np.bincount(h.s_player, minlength=P)
    put("sidebets_per_round", np.where(rounds_played > 0, n_bets / denom, np.nan), rounds_played)
    skey = h.s_round * P + h.s_player
    snew = np.ones(len(skey), dtype=bool)
    snew[1:] = skey[1:] != skey[:-1]
    med, n, ci = _group_medians(h.s_player[snew], h.s_start[snew].astype(float), P)
    put("sidebet_first_tick", med, n, ci)
    gap = (h.s_start[1:] - h.s_end[:-1]).astype(float)
    gi = ~snew[1:]
    med, n, ci = _group_medians(h.s_player[1:][gi], gap[gi], P)
    put("sidebet_gap", med, n, ci)
    forced_rounds = np.zeros((R, P), dtype=bool)
    forced_rounds[h.t_round[h.t_forced], h.t_player[h.t_forced]] = True
    bought_rounds = np.zeros((R, P), dtype=bool)
    bought_rounds[h.t_round[buy], h.t_player[buy]] = True
    nb = bought_rounds.sum(axis=0)
    put("forced_share", np.where(nb > 0, forced_rounds.sum(axis=0) / np.maximum(nb, 1), np.nan), nb)

    pnl_r = round_pnl(h)
    pnl = pnl_r.sum(axis=0)
    mean = pnl / denom
    sq = (pnl_r**2 * played).sum(axis=0)
    var = np.maximum(sq / denom - mean**2, 0.0) * denom / np.maximum(denom - 1, 1)
    half = 1.96 * np.sqrt(var / denom)
    pnl_ci = np.stack([mean - half, mean + half], axis=1)
    pnl_ci[rounds_played < 2] = np.nan
    # recent form: per-round PnL weighted by how many of the player's rounds ago it was
    order = np.cumsum(played[::-1], axis=0)[::-1]  # rounds played from here to the end
    w = np.where(played, 0.5 ** ((order - 1) / half_life_rounds), 0.0)
    form = np.divide((w * pnl_r).sum(axis=0), w.sum(axis=0), out=np.full(P, np.nan),
                     where=w.sum(axis=0) > 0)  # fmt: skip
    return PlayerStats(
        values=values,
        counts=counts,
        rounds_seen=rounds_seen,
        rounds_played=rounds_played,
        trades=n_trades,
        sidebets=n_bets,
        pnl=pnl,
        pnl_ci=pnl_ci,
        form=form,
        intervals=intervals,
        last_round=last,
        entry_price=entry_price,
    )
