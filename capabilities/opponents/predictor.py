"""Next action of a player within `horizon` ticks: buy, sell, sidebet or none.

Training moments are ticks (every `stride`-th, random phase) of the rounds a player took
part in; a moment's label is the player's first own action in [tick, tick + horizon)
(none if there is none; the rug's liquidation is not an action). Features are the state
the caller can see (`STATE`: tick, price, recent moves, the drawdown from the peak, the
player's position, its multiple and time held, the sidebet in play, what the player
did earlier in the round, the horizon) and the player's own figures (`stats.FEATURES`,
shrunk towards the archetype's for short histories) with the state put relative to
them (how far the multiple is from the usual exit, the tick from the usual entry, ...)
and the player's per-state action rates. A histogram gradient-boosted classifier learns
the rest. `evaluate` scores it on later rounds (a time split) against the majority class
and the player's own action frequencies.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from capabilities.opponents.archetypes import Archetypes, shrunk
from capabilities.opponents.history import ACTIONS, BUY, NONE, SELL, SIDEBET, History
from capabilities.opponents.stats import FEATURES, PlayerStats, trade_state

HORIZONS = (5, 10, 20, 40)
STATE = (
    "tick",
    "log_price",
    "drawdown",
    "move_1",
    "move_5",
    "move_20",
    "held",
    "log_multiple",
    "held_ticks",
    "buys_so_far",
    "sells_so_far",
    "sidebet_active",
    "since_sidebet",
    "sidebets_so_far",
    "horizon",
)
RATES = ("rate_buy_flat", "rate_sell_held", "rate_sidebet_idle", "rate_buy_held")
RELATIVE = (
    "rel_exit",
    "rel_entry_tick",
    "rel_drawdown",
    "rel_hold",
    "rel_sidebet_first",
    "rel_sidebet_gap",
)
COLUMNS = STATE + FEATURES + RATES + RELATIVE
_BIG = 1 << 20
_FMAX = np.finfo(np.float64).max


@dataclass
class Moments:
    """Sampled moments: state columns, label, the player and round of each."""

    state: dict[str, np.ndarray]
    label: np.ndarray
    player: np.ndarray
    round: np.ndarray

    def __len__(self) -> int:
        return len(self.label)


def moments(
    h: History,
    *,
    stride: int = 3,
    horizons: tuple[int, ...] = HORIZONS,
    seed: int = 0,
    max_moments: int | None = None,
) -> Moments:
    """Moments of every (round, player) pair where the player acted, vectorized."""
    rng = np.random.default_rng(seed)
    P = max(h.n_players, 1)
    pair_keys = np.unique(np.concatenate([h.t_round * P + h.t_player, h.s_round * P + h.s_player]))
    if max_moments is not None:  # about stride-spaced ticks per pair: thin the pairs
        per = np.maximum(h.rug[pair_keys // P] // stride, 1)
        if per.sum() > max_moments:
            keep = rng.random(len(pair_keys)) < max_moments / per.sum()
            pair_keys = pair_keys[keep]
    p_round, p_player = pair_keys // P, pair_keys % P
    phase = rng.integers(0, stride, len(pair_keys))
    counts = np.maximum((h.rug[p_round] - phase + stride - 1) // stride, 0)
    pair = np.repeat(np.arange(len(pair_keys)), counts)
    start = np.cumsum(counts) - counts
    tick = phase[pair] + stride * (np.arange(len(pair)) - start[pair])
    rnd, player = p_round[pair], p_player[pair]
    horizon = np.asarray(horizons)[rng.integers(0, len(horizons), len(pair))]

    # actions of the player, keyed by (pair, tick)
    own = ~h.t_forced
    a_key = np.concatenate([h.t_round[own] * P + h.t_player[own], h.s_round * P + h.s_player])
    a_tick = np.concatenate([h.t_tick[own], h.s_start])
    a_kind = np.concatenate([np.where(h.t_kind[own] == BUY, BUY, SELL),
                             np.full(len(h.s_start), SIDEBET)])  # fmt: skip
    a_pair = np.searchsorted(pair_keys, a_key)
    valid = (a_pair < len(pair_keys)) & (pair_keys[np.minimum(a_pair, len(pair_keys) - 1)] == a_key)
    ak = a_pair[valid] * _BIG + a_tick[valid]
    by = np.argsort(ak, kind="stable")
    ak, a_kind = ak[by], a_kind[valid][by]
    skey = pair * _BIG + tick
    i = np.searchsorted(ak, skey, "left")
    ic = np.minimum(i, len(ak) - 1)
    hit = (i < len(ak)) & (ak[ic] < skey + horizon) if len(ak) else np.zeros(len(skey), bool)
    label = np.where(hit, a_kind[ic] if len(ak) else NONE, NONE)

    state = _round_state(h, pair_keys, pair, rnd, tick, P)
    state["horizon"] = horizon.astype(float)
    return Moments(state, label.astype(np.int64), player, rnd)


def _round_state(
    h: History, pair_keys: np.ndarray, pair: np.ndarray, rnd: np.ndarray, tick: np.ndarray, P: int
) -> dict[str, np.ndarray]:
    """OpponentPosition, sidebet and price state of each moment, before its tick's actions."""
    price = h.price_at(rnd, tick)
    peak = h.price_at(rnd, tick, peak=True)
    qty, _avg, _ = trade_state(h)
    t_key = h.t_round * P + h.t_player
    t_pair = np.searchsorted(pair_keys, t_key)
    tk = t_pair * _BIG + h.t_tick
    buy = h.t_kind == BUY
    # position after each trade, and the round's running counts
    grp_new = np.ones(len(tk), dtype=bool)
    grp_new[1:] = t_pair[1:] != t_pair[:-1]
    starts = np.maximum.accumulate(np.where(grp_new, np.arange(len(tk)), 0)) if len(tk) else tk
    n_buys = np.cumsum(buy) - np.cumsum(buy)[starts] + buy[starts] if len(tk) else tk
    n_sells = np.cumsum(~buy) - np.cumsum(~buy)[starts] + (~buy)[starts] if len(tk) else tk
    after_qty = qty + np.where(buy, h.t_qty, -h.t_qty)
    cost = np.where(buy, h.t_qty * h.t_price, 0.0)
    bought = np.where(buy, h.t_qty, 0.0)
    cb = np.cumsum(cost) - (np.cumsum(cost)[starts] - cost[starts]) if len(tk) else tk
    qb = np.cumsum(bought) - (np.cumsum(bought)[starts] - bought[starts]) if len(tk) else tk
    after_avg = np.divide(cb, qb, out=np.zeros(len(tk)), where=qb > 0)
    # entry tick of the holding: the latest buy made while flat, within the pair
    opened = buy & (qty <= 1e-12)
    last_open = np.maximum.accumulate(np.where(opened, np.arange(len(tk)), -1)) if len(tk) else tk
    entry = np.where(
        (last_open >= starts) & (last_open >= 0),
        h.t_tick[np.maximum(last_open, 0)] if len(tk) else 0,
        0,
    )
    skey = pair * _BIG + tick
    j = np.searchsorted(tk, skey, "left") - 1
    jc = np.maximum(j, 0)
    same = (j >= 0) & (t_pair[jc] == pair) if len(tk) else np.zeros(len(skey), bool)
    pos = np.where(same, after_qty[jc] if len(tk) else 0.0, 0.0)
    held = pos > 1e-12
    avg_cost = np.where(held, after_avg[jc] if len(tk) else 1.0, 1.0)
    entry_tick = np.where(held, entry[jc] if len(tk) else 0, tick)
    s_key = h.s_round * P + h.s_player
    s_pair = np.searchsorted(pair_keys, s_key)
    sk = s_pair * _BIG + h.s_start
    k = np.searchsorted(sk, skey, "left") - 1
    kc = np.maximum(k, 0)
    s_same = (k >= 0) & (s_pair[kc] == pair) if len(sk) else np.zeros(len(skey), bool)
    s_end = np.where(s_same, h.s_end[kc] if len(sk) else 0, -1)
    s_first = np.searchsorted(s_pair, pair, "left")
    return build_state(
        tick=tick,
        price=price,
        peak=peak,
        price_1=h.price_at(rnd, tick - 1),
        price_5=h.price_at(rnd, tick - 5),
        price_20=h.price_at(rnd, tick - 20),
        qty=pos,
        avg_cost=avg_cost,
        entry_tick=entry_tick,
        buys=np.where(same, n_buys[jc] if len(tk) else 0, 0),
        sells=np.where(same, n_sells[jc] if len(tk) else 0, 0),
        sidebet_end=np.where(s_same, s_end, -1),
        sidebets=np.where(s_same, k - s_first + 1, 0),
    )


def build_state(
    *,
    tick: np.ndarray,
    price: np.ndarray,
    qty: np.ndarray,
    avg_cost: np.ndarray,
    entry_tick: np.ndarray,
    peak: np.ndarray | None = None,
    price_1: np.ndarray | None = None,
    price_5: np.ndarray | None = None,
    price_20: np.ndarray | None = None,
    buys: np.ndarray | None = None,
    sells: np.ndarray | None = None,
    sidebet_end: np.ndarray | None = None,  # end tick of the latest sidebet this round, -1 none
    sidebets: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The STATE columns from what a caller can see (shared by training and predict);
    what it does not know is NaN (the model learned with such gaps)."""
    tiny = 1e-12
    n = len(tick)
    nan = np.full(n, np.nan)
    lp = np.log(np.maximum(price, tiny))
    held = qty > tiny

    def move(before: np.ndarray | None) -> np.ndarray:
        return nan if before is None else lp - np.log(np.maximum(before, tiny))

    if sidebet_end is None:
        active = since = nan
    else:
        has = sidebet_end >= 0
        active = np.where(np.isnan(sidebet_end), np.nan, (has & (tick <= sidebet_end)))
        since = np.where(
            np.isnan(sidebet_end),
            np.nan,
            np.where(has & (tick > sidebet_end), tick - sidebet_end, -1.0),
        )
    return {
        "tick": tick.astype(float),
        "log_price": lp,
        "drawdown": nan if peak is None else price / np.maximum(peak, tiny),
        "move_1": move(price_1),
        "move_5": move(price_5),
        "move_20": move(price_20),
        "held": held.astype(float),
        "log_multiple": np.where(held, lp - np.log(np.maximum(avg_cost, tiny)), 0.0),
        "held_ticks": np.where(held, tick - entry_tick, -1).astype(float),
        "buys_so_far": nan if buys is None else buys.astype(float),
        "sells_so_far": nan if sells is None else sells.astype(float),
        "sidebet_active": active.astype(float),
        "since_sidebet": since.astype(float),
        "sidebets_so_far": nan if sidebets is None else sidebets.astype(float),
    }


# what a caller may leave out, in groups; training hides each from a share of moments
OPTIONAL = (
    ("drawdown",),
    ("move_1", "move_5", "move_20"),
    ("buys_so_far", "sells_so_far"),
    ("sidebet_active", "since_sidebet", "sidebets_so_far"),
)


def hide_optional(state: dict[str, np.ndarray], share: float, seed: int) -> dict[str, np.ndarray]:
    """A copy of `state` with each OPTIONAL group NaN in about `share` of the moments."""
    rng = np.random.default_rng([seed, 0x0FF])
    out = dict(state)
    for group in OPTIONAL:
        hide = rng.random(len(state["tick"])) < share
        for name in group:
            out[name] = np.where(hide, np.nan, state[name])
    return out


def action_rates(m: Moments, n_players: int, prior: float = 20.0) -> np.ndarray:
    """[P, len(RATES)] per-state rates of acting within the horizon, per horizon tick,
    shrunk towards everyone's by `prior` moments."""
    held = m.state["held"] > 0
    idle = m.state["sidebet_active"] == 0
    per_tick = 1.0 / m.state["horizon"]
    out = np.zeros((n_players, len(RATES)))
    for i, (mask, action) in enumerate(((~held, BUY), (held, SELL), (idle, SIDEBET), (held, BUY))):
        hit = ((m.label == action) & mask) * per_tick
        n = np.bincount(m.player[mask], minlength=n_players)
        s = np.bincount(m.player, weights=hit, minlength=n_players)
        pop = hit.sum() / max(mask.sum(), 1)
        out[:, i] = (s + prior * pop) / (n + prior)
    return out


@dataclass
class PlayerTable:
    """Per-player model inputs: figures (shrunk) and action rates; `basis` per player."""

    figures: np.ndarray  # [P, len(FEATURES)]
    rates: np.ndarray  # [P, len(RATES)]
    basis: list[str]  # "player" or "archetype"


def player_table(
    stats: PlayerStats, archetypes: Archetypes, rates: np.ndarray, *, k_rounds: float = 5.0
) -> PlayerTable:
    """Figures pulled towards the archetype's (membership-weighted) for short histories."""
    own = shrunk(stats, k_rounds)
    if archetypes.mixture is not None and len(archetypes.means):
        group = np.nan_to_num(archetypes.means, nan=0.0)
        prior = archetypes.memberships @ group
        n = stats.rounds_played[:, None].astype(float)
        figures = np.where(
            archetypes.enough[:, None], own, (n * own + k_rounds * prior) / (n + k_rounds)
        )
    else:
        figures = own
    basis = ["player" if e else "archetype" for e in archetypes.enough]
    return PlayerTable(figures, rates, basis)


def design(state: dict[str, np.ndarray], figures: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """The model's input matrix: state, player figures and rates, state relative to them."""
    f = {name: figures[:, i] for i, name in enumerate(FEATURES)}
    held = state["held"] > 0
    since = state["since_sidebet"]
    exit_gap = state["log_multiple"] - np.log(np.maximum(f["exit_multiple"], 1e-6))
    no_gap = np.where(np.isnan(since), np.nan, -999.0)
    rel = {
        "rel_exit": np.where(held, exit_gap, 0.0),
        "rel_entry_tick": state["tick"] - f["entry_tick"],
        "rel_drawdown": state["drawdown"] - f["entry_drawdown"],
        "rel_hold": np.where(held, state["held_ticks"] - f["hold_ticks"], 0.0),
        "rel_sidebet_first": state["tick"] - f["sidebet_first_tick"],
        "rel_sidebet_gap": np.where(since >= 0, since - f["sidebet_gap"], no_gap),
    }  # fmt: skip
    columns = (
        [state[c] for c in STATE] + list(figures.T) + list(rates.T) + [rel[c] for c in RELATIVE]
    )
    return np.column_stack(columns).astype(np.float32)


class Trees:
    """A fitted HistGradientBoostingClassifier as padded numpy arrays, evaluated for all
    trees at once: no OpenMP threads (on a busy machine they cost more than they give)
    and no per-tree call (sklearn's compiled walk, called per tree, took 1.7 ms for a
    batch of 100 through 240 trees; this walk about 1 ms of CPU). Big batches (the
    evaluation) go through sklearn on one thread. Pickled as the classifier alone; the
    arrays are rebuilt on loading (models stored by an earlier version included)."""

    def __init__(self, clf: HistGradientBoostingClassifier) -> None:
        trees = [t for it in clf._predictors for t in it]  # iteration-major, class-minor
        k = len(clf._predictors[0])
        size = max(len(t.nodes) for t in trees)
        pad = np.zeros((len(trees), size), dtype=trees[0].nodes.dtype)
        pad["is_leaf"] = 1
        for i, t in enumerate(trees):
            pad[i, : len(t.nodes)] = t.nodes
        base = (np.arange(len(trees)) * size)[:, None]  # children as flat node numbers
        n_features = clf.n_features_in_
        # a walk's position is twice its node, plus one once it went right: each per-node
        # array holds its value twice, and `children[position]` is the next position
        # (a leaf's children are itself); a level is then three lookups by position
        leaf = pad["is_leaf"].astype(bool).ravel()
        # a node reads the row's copy where NaN is -inf if missing values go left, else
        # the copy where it is +inf: one comparison decides, NaN or not
        missing_left = pad["missing_go_to_left"].astype(bool).ravel()
        feature = pad["feature_idx"].astype(np.int64).ravel() + np.where(
            missing_left, 0, n_features
        )
        # sklearn sends x <= threshold left and puts +inf where only NaN goes right; rows
        # are clamped below the largest float, so that threshold becomes it and NaN
        # (+inf in the right-hand copy) is the only value above it
        threshold = np.minimum(pad["num_threshold"].ravel(), _FMAX)
        children = np.stack(
            [pad["left"].astype(np.int64) + base, pad["right"].astype(np.int64) + base], axis=-1
        ).reshape(-1, 2)
        children[leaf] = np.flatnonzero(leaf)[:, None]
        self.feature, self.threshold, self.leaf = (
            np.repeat(a, 2) for a in (feature, threshold, leaf)
        )
        self.children = 2 * children.ravel()
        self.value = np.repeat(pad["value"].ravel(), 2)
        self.roots = 2 * base.ravel()
        self.depth = int(pad["depth"].max()) + 1
        self.klass = np.tile(np.arange(k), len(clf._predictors))
        self.k = k
        self.baseline = np.asarray(clf._baseline_prediction, dtype=float).reshape(-1)
        self.classes = np.asarray(clf.classes_)
        self.clf = clf

    def __getstate__(self) -> dict[str, Any]:
        return {"clf": self.clf}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["clf"])  # type: ignore[misc]

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """[trees, n] the value of the leaf each row reaches in each tree."""
        n = len(x)
        x = np.minimum(np.asarray(x, dtype=np.float64), _FMAX)
        missing = np.isnan(x)
        flat_x = np.concatenate(
            [np.where(missing, -np.inf, x), np.where(missing, np.inf, x)], axis=1
        ).ravel()
        at = np.repeat(self.roots, n)  # positions, tree-major
        col = np.tile(np.arange(n) * (2 * x.shape[1]), len(self.roots))
        # walks that reached a leaf stay there; they are set aside (into `done`; `walking`
        # holds the flat numbers of those still in `at`) once a quarter of the rest has
        # arrived: setting aside costs more than a step
        done: np.ndarray | None = None
        walking = np.arange(0)
        for _ in range(self.depth):
            right = flat_x.take(self.feature.take(at) + col) > self.threshold.take(at)
            at = self.children.take(at + right)
            going = ~self.leaf.take(at)
            still = np.count_nonzero(going)
            if still > 0.75 * len(at):
                continue
            if done is None:
                done, walking = at, np.flatnonzero(going)
            else:
                done[walking] = at
                walking = walking[going]
            if not still:
                break
            at, col = at[going], col[going]
        else:
            if done is None:
                done = at
            else:
                done[walking] = at
        return self.value.take(done).reshape(len(self.roots), n)

    def proba(self, x: np.ndarray) -> np.ndarray:
        """[n, 4] probabilities (ACTIONS order) of rows x."""
        n = len(x)
        if n > 1000:  # big batches: sklearn's compiled loop, on one thread
            out = np.zeros((n, len(ACTIONS)))
            with threadpool_limits(1):
                out[:, self.classes] = self.clf.predict_proba(x)
            return out
        leaf_values = self.leaves(x)
        raw = np.zeros((len(x), self.k)) + self.baseline[None, :]
        for c in range(self.k):
            raw[:, c] += leaf_values[self.klass == c].sum(axis=0)
        if self.k == 1:  # two classes: one logit
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            raw_p = np.column_stack([1 - p1, p1])
        else:
            e = np.exp(raw - raw.max(axis=1, keepdims=True))
            raw_p = e / e.sum(axis=1, keepdims=True)
        out = np.zeros((len(x), len(ACTIONS)))
        out[:, self.classes] = raw_p
        return out


@dataclass
class NextActionModel:
    """The classifier (as Trees) and the player table it reads."""

    trees: Trees
    table: PlayerTable
    player_index: dict[str, int]
    population: np.ndarray = field(default_factory=lambda: np.zeros(0))  # figures, rates

    def predict(self, state: dict[str, np.ndarray], players: np.ndarray) -> np.ndarray:
        """[n, 4] probabilities (ACTIONS order); player -1 takes the population's row."""
        figures = np.where(
            players[:, None] >= 0,
            self.table.figures[players],
            self.population[None, : len(FEATURES)],
        )
        rates = np.where(
            players[:, None] >= 0, self.table.rates[players], self.population[None, len(FEATURES) :]
        )
        return self.trees.proba(design(state, figures, rates))  # fmt: skip


def train(
    m: Moments, table: PlayerTable, *, max_iter: int = 60, hide_share: float = 0.25, seed: int = 0
) -> HistGradientBoostingClassifier:
    clf = HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=0.1,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    state = hide_optional(m.state, hide_share, seed)
    x = design(state, table.figures[m.player], table.rates[m.player])
    with threadpool_limits(1):  # a shared, busy machine: threads only contend
        clf.fit(x, m.label)
    return clf


def staged_log_loss(
    clf: HistGradientBoostingClassifier, x: np.ndarray, label: np.ndarray
) -> np.ndarray:
    """The log loss of `clf`'s first 1, 2, ... iterations on rows x (labels in ACTIONS'
    numbering, at least one row), in one pass of sklearn's staged prediction."""
    column = np.searchsorted(clf.classes_, label)
    known = column < len(clf.classes_)
    column, rows = np.minimum(column, len(clf.classes_) - 1), np.arange(len(label))
    losses = []
    for proba in clf.staged_predict_proba(x):
        p_true = np.where(known, proba[rows, column], 0.0)  # a class never seen: p = 0
        losses.append(-np.log(np.clip(p_true, 1e-12, 1.0)).mean())
    return np.array(losses)


def truncated(clf: HistGradientBoostingClassifier, n_iter: int) -> HistGradientBoostingClassifier:
    """`clf` with its first `n_iter` boosting iterations only (the same trees, shared)."""
    if n_iter >= clf.n_iter_:
        return clf
    out = copy.copy(clf)
    out._predictors = clf._predictors[:n_iter]
    return out


def ece(proba: np.ndarray, label: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top class (equal-width confidence bins)."""
    if len(label) == 0:
        return float("nan")
    conf = proba.max(axis=1)
    right = (proba.argmax(axis=1) == label).astype(float)
    b = np.minimum((conf * bins).astype(int), bins - 1)
    n = np.bincount(b, minlength=bins)
    gap = np.abs(
        np.bincount(b, weights=right, minlength=bins) - np.bincount(b, weights=conf, minlength=bins)
    )
    return float(gap.sum() / n.sum())


def _interval(right: np.ndarray) -> list[float]:
    """Wilson 95 % interval of a proportion."""
    n = len(right)
    if n == 0:
        return [float("nan"), float("nan")]
    p, z = right.mean(), 1.96
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(mid - half), float(mid + half)]


def score(proba: np.ndarray, test: Moments, own_freq: np.ndarray, majority: int) -> dict[str, Any]:
    """Top-1 on acting moments (which of buy/sell/sidebet, given the player acts within
    the horizon; `top1_strict` takes the argmax over all four, none included), log loss
    and ECE on all moments, and the two baselines' top-1 on the same acting moments."""
    acting = test.label != NONE
    pa, la = proba[acting], test.label[acting]
    right = pa.argmax(axis=1) == la
    among = pa[:, :3].argmax(axis=1) == la
    own = own_freq[test.player[acting]].argmax(axis=1) == la
    maj = la == majority
    p_true = np.clip(proba[np.arange(len(test)), test.label], 1e-12, 1.0)
    return {
        "moments": len(test),
        "acting_moments": int(acting.sum()),
        "top1": float(among.mean()) if len(la) else None,
        "top1_ci": _interval(among),
        "top1_strict": float(right.mean()) if len(la) else None,
        "log_loss": float(-np.log(p_true).mean()) if len(test) else None,
        "ece": ece(proba, test.label),
        "baseline_majority": float(maj.mean()) if len(la) else None,
        "baseline_majority_ci": _interval(maj),
        "baseline_own_frequency": float(own.mean()) if len(la) else None,
        "baseline_own_frequency_ci": _interval(own),
    }


def own_frequencies(m: Moments, n_players: int) -> np.ndarray:
    """[P, 3] each player's share of buy/sell/sidebet among its acting moments (+1 each)."""
    acting = m.label != NONE
    out = np.ones((n_players, 3))
    np.add.at(out, (m.player[acting], m.label[acting]), 1.0)
    return out / out.sum(axis=1, keepdims=True)
