"""Fit the opponent models from the game tables, keep the latest in memory, predict.

`fit` measures the next-action model on a time split (the later `test_fraction` of the
rounds held out) while it fits profiles, archetypes and the served model on every round.
`store` writes the model and the profiles in one transaction. `ModelCache` holds the
latest stored model per database in memory: `refresh` checks for a newer one (a one-row
query), `fresh` does so at most once a second while a model is held (the API's answers
call it), `current` never touches the database (the hybrid's decide path reads it; a
background thread refreshes it every `refresh_s` seconds).
"""

from __future__ import annotations

import logging
import math
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from capabilities.opponents import predictor as pr
from capabilities.opponents.archetypes import Archetypes, fit_archetypes
from capabilities.opponents.history import ACTIONS, NONE, History, load_history
from capabilities.opponents.models import OpponentFitSpec, OpponentPredictItem
from capabilities.opponents.profiles import profile_rows, store_profiles
from capabilities.opponents.stats import FEATURES, player_stats
from tools.errors import NotFound
from tools.postgres import Database

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
EVAL_HORIZONS = (10, 20)
_EVAL_MOMENTS = 60_000
_CHOICE_MOMENTS = 20_000  # held-out moments the number of boosting iterations is chosen on


@dataclass
class FittedModel:
    """What predictions need, in memory: players, archetypes and the classifier."""

    model_id: uuid.UUID
    fitted_at: datetime
    rounds: int
    player_ids: list[str]
    archetypes: Archetypes
    model: pr.NextActionModel
    summary: dict[str, Any]

    @property
    def players(self) -> int:
        return len(self.player_ids)

    @cached_property
    def archetype_labels(self) -> list[dict[str, Any]]:
        """Each player's `OpponentArchetype` (what predict answers), made once per model."""
        labels = (self.archetypes.label(p) for p in range(self.players))
        return [{"name": name, "probability": prob} for name, prob in labels]


def _quiet(fraction: float, message: str) -> None:
    return None


def _player_accuracy(proba: np.ndarray, m: pr.Moments, n_players: int) -> dict[int, dict]:
    acting = m.label != NONE
    right = (proba[acting, :3].argmax(axis=1) == m.label[acting]).astype(float)
    who = m.player[acting]
    n = np.bincount(who, minlength=n_players)
    hits = np.bincount(who, weights=right, minlength=n_players)
    return {int(p): {"top1": round(float(hits[p] / n[p]), 4), "acting_moments": int(n[p]),
                     "horizon_ticks": EVAL_HORIZONS[0]} for p in np.flatnonzero(n)}  # fmt: skip


def _served(h: History, spec: OpponentFitSpec, seed: int) -> tuple[Any, ...]:
    """Stats, archetypes, player table and classifier fitted on the rounds of `h`."""
    stats = player_stats(h)
    archetypes = fit_archetypes(stats, min_rounds=spec.min_rounds, max_groups=spec.max_groups,
                                seed=seed)  # fmt: skip
    m = pr.moments(h, max_moments=spec.max_moments, seed=seed)
    rates = pr.action_rates(m, h.n_players)
    table = pr.player_table(stats, archetypes, rates)
    clf = pr.train(m, table, max_iter=spec.max_iter, seed=seed)
    return stats, archetypes, m, table, clf


def evaluate(h: History, spec: OpponentFitSpec, progress: Progress = _quiet) -> tuple[dict, dict]:
    """The next-action model fitted on the earlier rounds, scored on the later ones."""
    cut = round(h.n_rounds * (1 - spec.test_fraction))
    if cut < 2 or h.n_rounds - cut < 1:
        return {"error": f"too few rounds ({h.n_rounds}) for a time split"}, {}
    order = np.arange(h.n_rounds)
    train_h, test_h = h.subset(order < cut), h.subset(order >= cut)
    progress(0.05, f"fitting on the first {cut} rounds")
    _, archetypes, m_train, table, clf = _served(train_h, spec, spec.seed)
    held_out = {
        horizon: pr.moments(test_h, horizons=(horizon,), seed=spec.seed + 1,
                            max_moments=_EVAL_MOMENTS)
        for horizon in EVAL_HORIZONS
    }  # fmt: skip
    # as many boosting iterations as the later rounds ask for: past the best log loss
    # more trees only overfit the earlier rounds, and cost predict time in proportion
    first = held_out[EVAL_HORIZONS[0]]
    chosen, losses = clf.n_iter_, np.zeros(0)
    if len(first.label):
        # every k-th moment, at most _CHOICE_MOMENTS: the loss's error is then ~0.003
        pick = slice(None, None, -(-len(first.label) // _CHOICE_MOMENTS))
        state = {k: v[pick] for k, v in first.state.items()}
        who = first.player[pick]
        losses = pr.staged_log_loss(
            clf, pr.design(state, table.figures[who], table.rates[who]), first.label[pick]
        )
        chosen = int(losses.argmin()) + 1
    clf = pr.truncated(clf, chosen)
    trees = pr.Trees(clf)
    acting = m_train.label != NONE
    majority = int(np.bincount(m_train.label[acting], minlength=3).argmax()) if acting.any() else 0
    own = pr.own_frequencies(m_train, h.n_players)
    short = np.array([b != "player" for b in table.basis])
    out: dict[str, Any] = {"train_rounds": cut, "test_rounds": h.n_rounds - cut,
                           "majority_class": ACTIONS[majority], "horizons": {}}  # fmt: skip
    out["iterations"] = {
        "chosen": chosen,
        "max": spec.max_iter,
        "log_loss_at": {str(n): round(float(losses[n - 1]), 5)
                        for n in sorted({*range(5, len(losses) + 1, 5), chosen, len(losses)})
                        if 0 < n <= len(losses)},
    }  # fmt: skip
    accuracy: dict[int, dict] = {}
    for horizon, m in held_out.items():
        progress(0.3, f"scoring on the last {h.n_rounds - cut} rounds, horizon {horizon}")
        figures, rates = table.figures[m.player], table.rates[m.player]
        proba = trees.proba(pr.design(m.state, figures, rates))
        result = pr.score(proba, m, own, majority)
        # what a caller sending only tick, price and position gets
        bare = pr.hide_optional(m.state, 1.0, spec.seed)
        result["top1_minimal_state"] = pr.score(
            trees.proba(pr.design(bare, figures, rates)), m, own, majority
        )["top1"]
        sel = short[m.player]
        if sel.any():
            sub = pr.Moments({k: v[sel] for k, v in m.state.items()}, m.label[sel],
                             m.player[sel], m.round[sel])  # fmt: skip
            result["short_history"] = {k: v for k, v in pr.score(proba[sel], sub, own, majority)
                                       .items() if not k.endswith("_ci")}  # fmt: skip
        out["horizons"][str(horizon)] = result
        if horizon == EVAL_HORIZONS[0]:
            accuracy = _player_accuracy(proba, m, h.n_players)
    out["archetypes_on_train"] = len(archetypes.names)
    return out, accuracy


def _timed(f: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    return f(*args), time.perf_counter() - began


def fit(h: History, spec: OpponentFitSpec, progress: Progress = _quiet) -> tuple[FittedModel, list]:
    """Evaluate on a time split, then fit everything on all rounds; (model, profile rows)."""
    began = time.perf_counter()
    # the two fits are independent and the boosting runs without the GIL: on two cores
    # (or on a busy machine, two runnable threads) they overlap. One process-wide limit
    # around both: `threadpool_limits` entered and left by each thread would restore the
    # other's setting out of order.
    with (
        threadpool_limits(1),
        ThreadPoolExecutor(1, thread_name_prefix="opponents-evaluate") as pool,
    ):
        evaluating = pool.submit(_timed, evaluate, h, spec)  # progress from this thread only
        progress(0.05, f"fitting on all {h.n_rounds} rounds and on a time split")
        stats, archetypes, _, table, clf = _served(h, spec, spec.seed)
        fit_seconds = time.perf_counter() - began
        progress(0.6, "scoring the held-out rounds")
        (evaluation, accuracy), evaluate_seconds = evaluating.result()
    if "iterations" in evaluation:  # the count the later rounds chose (no time split: all)
        clf = pr.truncated(clf, evaluation["iterations"]["chosen"])
    enough = archetypes.enough
    rows = enough if enough.any() else stats.rounds_played > 0
    population = np.concatenate([
        np.median(table.figures[rows], axis=0) if rows.any() else np.zeros(len(FEATURES)),
        table.rates[rows].mean(axis=0) if rows.any() else np.zeros(len(pr.RATES)),
    ])  # fmt: skip
    model_id = uuid.uuid4()
    ended = time.perf_counter()
    groups = [
        {
            "name": name,
            "players": int(((archetypes.memberships.argmax(axis=1) == k) & enough).sum()),
            "weight": round(float(archetypes.weights[k]), 4),
            "figures": {f: round(float(v), 4) for f, v in zip(FEATURES, archetypes.means[k],
                                                                strict=True) if np.isfinite(v)},
        }
        for k, name in enumerate(archetypes.names)
    ]  # fmt: skip
    summary = {
        "evaluation": evaluation,
        "archetypes": {
            "groups": groups,
            "bic": {str(k): round(v, 2) for k, v in archetypes.bic.items()},
            "min_rounds": archetypes.min_rounds,
            "too_little_data": int((~enough & (stats.rounds_played > 0)).sum()),
        },
        "options": spec.model_dump(mode="json"),
        "seconds": {
            "evaluate": round(evaluate_seconds, 2),
            "fit": round(fit_seconds, 2),
            "total": round(ended - began, 2),
        },
        "actions": list(ACTIONS),
        "horizons_trained": list(pr.HORIZONS),
    }
    fitted = FittedModel(
        model_id=model_id,
        fitted_at=h.ended_at or datetime.now(UTC),
        rounds=h.n_rounds,
        player_ids=list(h.player_ids),
        archetypes=archetypes,
        model=pr.NextActionModel(
            pr.Trees(clf), table, {p: i for i, p in enumerate(h.player_ids)}, population
        ),
        summary=summary,
    )
    return fitted, profile_rows(model_id, h, stats, archetypes, accuracy)


def store(database: Database, fitted: FittedModel, rows: list) -> None:
    """The model and its profiles, in one transaction."""
    blob = pickle.dumps((fitted.player_ids, fitted.archetypes, fitted.model))
    with database.connection() as conn, conn.transaction():
        conn.execute(
            """
            INSERT INTO opponent_models (id, fitted_at, rounds, players, summary, model)
            VALUES (%s, now(), %s, %s, %s, %s)
            """,
            (fitted.model_id, fitted.rounds, fitted.players, _jsonb(fitted.summary), blob),
        )
        store_profiles(conn, rows)


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def fit_and_store(
    database: Database, spec: OpponentFitSpec, progress: Progress = _quiet
) -> FittedModel:
    progress(0.0, "loading rounds, trades and sidebets")
    h = load_history(database, since=spec.since)
    if h.n_rounds < 2 or len(h.t_round) + len(h.s_round) == 0:
        raise NotFound(
            "no rounds with player trades are stored: import recordings with `agent-service "
            "import PATH...` or store the live feed with `agent-service consume`, then fit again"
        )
    fitted, rows = fit(h, spec, progress)
    store(database, fitted, rows)
    progress(1.0, f"fitted on {h.n_rounds} rounds, {len(rows)} players")
    return fitted


def _load(database: Database, model_id: uuid.UUID | None = None) -> FittedModel | None:
    with database.connection() as conn:
        row = conn.execute(
            """
            SELECT id, fitted_at, rounds, summary, model FROM opponent_models
            WHERE %(id)s::uuid IS NULL OR id = %(id)s
            ORDER BY fitted_at DESC LIMIT 1
            """,
            {"id": model_id},
        ).fetchone()
    if row is None:
        return None
    # written by this service's own fit job into its own database, never from input
    player_ids, archetypes, model = pickle.loads(row[4])  # noqa: S301
    return FittedModel(row[0], row[1], row[2], player_ids, archetypes, model, row[3])


class ModelCache:
    """The latest fitted model of one database, in memory."""

    def __init__(self, database: Database, refresh_s: float = 5.0, fresh_s: float = 1.0) -> None:
        self.database, self.refresh_s, self.fresh_s = database, refresh_s, fresh_s
        self.current: FittedModel | None = None
        self._checked = -math.inf
        self._lock = threading.Lock()
        self._checking = threading.Lock()  # held by the one background check under way

    def refresh(self) -> FittedModel | None:
        """Load the newest model if it is not the one held."""
        with self._lock:
            with self.database.connection() as conn:
                row = conn.execute(
                    "SELECT id FROM opponent_models ORDER BY fitted_at DESC LIMIT 1"
                ).fetchone()
            self._checked = time.monotonic()
            if row is not None and (self.current is None or self.current.model_id != row[0]):
                self.current = _load(self.database, row[0])
            return self.current

    def fresh(self) -> FittedModel | None:
        """The model held; once it was checked more than `fresh_s` ago, one background
        thread checks again (a refit shows within about `fresh_s`). With no model held it
        asks now, so an answer right after the first fit shows it. A request never waits
        for the database or for loading a refitted model while one is held: that wait,
        once a second, made the predict latency's tail."""
        if self.current is None:
            return self.refresh()
        if time.monotonic() - self._checked >= self.fresh_s and self._checking.acquire(False):
            threading.Thread(target=self._check, name="opponents-model-check").start()
        return self.current

    def _check(self) -> None:
        try:
            self.refresh_quietly()
        finally:
            self._checking.release()

    def refresh_quietly(self) -> None:
        """`refresh()`, keeping the model held when the database is away (checked again
        `fresh_s` later)."""
        try:
            self.refresh()
        except Exception as exc:
            self._checked = time.monotonic()
            log.debug("opponent model refresh failed: %s", exc)


_caches: dict[str, ModelCache] = {}
_caches_lock = threading.RLock()  # sell_forecast holds it while model_cache takes it


def model_cache(database: Database) -> ModelCache:
    """The process's cache for `database`."""
    with _caches_lock:
        cache = _caches.get(database.dsn)
        if cache is None:
            cache = _caches[database.dsn] = ModelCache(database)
        return cache


def state_arrays(items: Sequence[OpponentPredictItem]) -> dict[str, np.ndarray]:
    """The STATE columns of predict items (what an item leaves out is NaN): one pass over
    the items, one array of their rows (a batch of 100 read column by column took twice
    as long)."""
    nan = float("nan")
    rows = []
    for i in items:
        st, p, prices = i.state, i.position, i.state.recent_prices
        if st.sidebet is not None:
            sidebet_end = float(st.sidebet.end_tick)
        else:
            sidebet_end = -1.0 if st.sidebets_this_round == 0 else nan
        # the price 1/5/20 ticks back; prices since the round's start (as many as the
        # tick) reach back to its first tick, and give the round's high so far
        before_1 = before_5 = before_20 = peak = nan
        if prices:
            n = len(prices)
            whole = n >= st.tick
            start = prices[0] if whole else nan
            before_1 = prices[-1]
            before_5 = prices[-5] if n >= 5 else start
            before_20 = prices[-20] if n >= 20 else start
            if whole:
                peak = max(st.price, max(prices))
        rows.append((
            st.tick, st.price,
            p.qty if p else 0.0, p.avg_cost if p else 1.0, p.entry_tick if p else 0,
            st.peak_price or peak, before_1, before_5, before_20,
            nan if st.buys_this_round is None else st.buys_this_round,
            nan if st.sells_this_round is None else st.sells_this_round,
            sidebet_end,
            nan if st.sidebets_this_round is None else st.sidebets_this_round,
            i.horizon_ticks,
        ))  # fmt: skip
    # each column contiguous, as numpy's vector loops (log) expect
    c = np.ascontiguousarray(np.array(rows, dtype=float).T)
    state = pr.build_state(
        tick=c[0], price=c[1], qty=c[2], avg_cost=c[3], entry_tick=c[4], peak=c[5],
        price_1=c[6], price_5=c[7], price_20=c[8], buys=c[9], sells=c[10], sidebet_end=c[11],
        sidebets=c[12],
    )  # fmt: skip
    state["horizon"] = c[13]
    return state


assert ACTIONS == ("buy", "sell", "sidebet", "none"), "predict() spells ACTIONS out"


def predict(fitted: FittedModel, items: Sequence[OpponentPredictItem]) -> list[dict[str, Any]]:
    """Probabilities per item, in order (`OpponentPrediction`'s shape); `basis` says what
    they rest on. Plain dicts: every value comes from the model, and building 300 pydantic
    objects per batch of 100 cost more than the trees."""
    index = fitted.model.player_index
    players = np.array([index.get(i.player_id, -1) for i in items], dtype=np.int64)
    proba = np.round(fitted.model.predict(state_arrays(items), players), 6)
    likely = proba[:, :3].argmax(axis=1).tolist()
    basis, labels = fitted.model.table.basis, fitted.archetype_labels
    out = []
    # the probabilities in ACTIONS' order, spelled as a literal (a third of zip's time);
    # the import-time check above keeps the literal's keys and that order together
    for item, p, (buy, sell, sidebet, none), k in zip(
        items, players.tolist(), proba.tolist(), likely, strict=True
    ):
        out.append(
            {
                "player_id": item.player_id,
                "probabilities": {"buy": buy, "sell": sell, "sidebet": sidebet, "none": none},
                "likely_action": ACTIONS[k],
                "basis": "population" if p < 0 else basis[p],
                "archetype": None if p < 0 else labels[p],
            }
        )
    return out


class SellForecast:
    """P(a player sells within k ticks) from the cache's model in memory: no I/O, so the
    hybrid's decide path may call it. A daemon thread refreshes the cache meanwhile."""

    def __init__(self, cache: ModelCache) -> None:
        self.cache = cache
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> SellForecast:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="opponents-model-refresh", daemon=True
                )
                self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            self.cache.refresh_quietly()
            time.sleep(self.cache.refresh_s)

    def __call__(
        self, player_id: str, tick: int, price: float, qty: float, avg_cost: float | None,
        horizon: int,
    ) -> float | None:  # fmt: skip
        """None when no model is held or the model does not know the player."""
        fitted = self.cache.current
        if fitted is None:
            return None
        p = fitted.model.player_index.get(player_id)
        if p is None:
            return None
        one = np.array([0.0])
        cols = pr.build_state(
            tick=one + tick, price=one + price, qty=one + qty,
            avg_cost=one + (avg_cost if avg_cost else price), entry_tick=one + max(tick - 10, 0),
        )  # fmt: skip
        cols["horizon"] = one + horizon
        return float(fitted.model.predict(cols, np.array([p]))[0, 1])


_forecasts: dict[str, SellForecast] = {}


def sell_forecast(database: Database) -> SellForecast:
    """The process's forecast for `database`, its refresher started."""
    with _caches_lock:
        forecast = _forecasts.get(database.dsn)
        if forecast is None:
            forecast = _forecasts[database.dsn] = SellForecast(model_cache(database))
    return forecast.start()
