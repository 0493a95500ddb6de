"""Models per game mode, fitted from the stored rounds, versioned and cached.

The first request for a mode fits synchronously (seconds for thousands of rounds); later
ones get the cached set at once while a background thread checks, at most every
`check_interval_s`, whether enough new rounds arrived to refit. `peek()` never waits,
for the real-time path. A mode with no stored rounds is served from its documented
rules; one with some, but fewer than `min_rounds`, with its hazard and drift pooled
across the stored modes (`capabilities.meta`: it borrows from the modes its rounds
resemble, less as its rounds accumulate); from `min_rounds` on, with its own fit.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import psycopg

from capabilities.engines.game_models.ev import Economics, HazardView, PriceView, stopping_table
from capabilities.engines.game_models.hazard import HazardModel, fit_hazard
from capabilities.engines.game_models.price import PriceModel, fit_price
from capabilities.engines.game_models.truth import TrueHazard, TruePrice, economics
from capabilities.meta.data import load_round_stats
from capabilities.meta.engine import PooledHazard, PooledPrice
from capabilities.meta.pooling import Pooled, Priors
from game.rules import load_mode
from tools.errors import BackendUnavailable
from tools.postgres import Database

log = logging.getLogger(__name__)
WARM_RETRY_S = 5.0

_ROUNDS_SQL = """
SELECT game_id, rug_tick, COALESCE(first_observed_tick, 0) FROM games
WHERE mode = %(mode)s AND rug_tick IS NOT NULL AND rug_tick >= 1
ORDER BY started_at DESC NULLS LAST, game_id DESC
LIMIT %(limit)s
"""
_TICKS_SQL = """
SELECT game_id, tick, price FROM ticks
WHERE game_id = ANY(%(ids)s) AND tick >= 0 AND tick < %(cap)s
"""
_VERSION_SQL = """
SELECT count(*), max(game_id) FROM games
WHERE mode = %(mode)s AND rug_tick IS NOT NULL AND rug_tick >= 1
"""


@dataclass(frozen=True)
class ModelSet:
    """The models of one mode at one version."""

    mode: str
    version: str
    source: str  # "fitted" (own rounds) | "pooled" (few own rounds, pooled) | "rules"
    rounds: int
    fitted_at: datetime
    fit_seconds: float
    hazard: HazardView
    price: PriceView
    economics: Economics
    hazard_model: HazardModel | None = None
    price_model: PriceModel | None = None
    pooled: Pooled | None = None

    @cached_property
    def stopping(self) -> tuple[np.ndarray, np.ndarray]:
        """`ev.stopping_table` of this model set up to the mode's tick cap (computed once)."""
        return stopping_table(self.hazard, self.economics, load_mode(self.mode).max_ticks)

    def wait_values(self, tick: int) -> tuple[float, float, float]:
        """The value per SOL of keeping a round's one sidebet for later, at `tick`."""
        wait = self.stopping[1]
        column = wait[:, min(max(tick, 0), wait.shape[1] - 1)]
        return float(column[0]), float(column[1]), float(column[2])

    def evidence(self) -> dict[str, Any]:
        """What the models rest on, for responses and agent tools."""
        out: dict[str, Any] = {"mode": self.mode, "version": self.version, "source": self.source}
        out["rounds"] = self.rounds
        if self.hazard_model is not None:
            out["hazard"] = self.hazard_model.summary()
        if self.price_model is not None:
            out["price"] = self.price_model.summary()
        if self.pooled is not None:
            out["pooling"] = self.pooled.summary()
        return out


class History(NamedTuple):
    """The latest stored rounds of a mode, newest first."""

    ids: list[str]
    rug: np.ndarray  # rug tick per round
    prices: np.ndarray  # [rounds, ticks], NaN where a tick was not recorded
    entry: np.ndarray  # first observed tick per round (> 0: the recording began mid-round)


def load_history(conn: psycopg.Connection, mode: str, limit: int) -> History:
    """The latest `limit` rounds of `mode` with a rug (see `History`)."""
    rows = conn.execute(_ROUNDS_SQL, {"mode": mode, "limit": limit}).fetchall()
    if not rows:
        return History([], np.zeros(0, np.int64), np.zeros((0, 1)), np.zeros(0, np.int64))
    index = {row[0]: i for i, row in enumerate(rows)}
    rug = np.array([row[1] for row in rows], dtype=np.int64)
    entry = np.array([row[2] for row in rows], dtype=np.int64)
    prices = np.full((len(rows), int(rug.max()) + 1), np.nan)
    cur = conn.execute(_TICKS_SQL, {"ids": list(index), "cap": int(rug.max()) + 1})
    for game_id, tick, price in cur:
        prices[index[game_id], tick] = price
    return History(list(index), rug, prices, entry)


def rules_model_set(mode: str) -> ModelSet:
    rules = load_mode(mode)
    return ModelSet(
        mode=mode,
        version=f"{mode}@rules",
        source="rules",
        rounds=0,
        fitted_at=datetime.now(UTC),
        fit_seconds=0.0,
        hazard=TrueHazard(rules),
        price=TruePrice(rules),
        economics=economics(rules),
    )


def fit_model_set(
    mode: str,
    rug: np.ndarray,
    prices: np.ndarray,
    data_key: str,
    entry: np.ndarray | None = None,
) -> ModelSet:
    """`entry`: each round's first observed tick (left truncation, see fit_hazard)."""
    started = time.perf_counter()
    hazard, price = fit_hazard(rug, entry=entry), fit_price(prices)
    digest = hashlib.sha256(f"{mode}|{len(rug)}|{data_key}".encode()).hexdigest()[:10]
    return ModelSet(
        mode=mode,
        version=f"{mode}@{len(rug)}r-{digest}",
        source="fitted",
        rounds=len(rug),
        fitted_at=datetime.now(UTC),
        fit_seconds=round(time.perf_counter() - started, 3),
        hazard=hazard,
        price=price,
        economics=economics(load_mode(mode)),
        hazard_model=hazard,
        price_model=price,
    )


POOL_SOURCE_ROUNDS = 1000
"""Latest rounds per mode read to pool a thin mode: a source is well determined by then
(its own error is in its twin's spread), and the query stays well under a second."""
MIN_PRICE_MOVES = 50
"""Fewer own price moves than this: a pooled mode's risk figures use its rules' spread."""


def pooled_model_set(mode: str, pooled: Pooled, prices: np.ndarray, data_key: str) -> ModelSet:
    """A thin mode's models: hazard and drift pooled across modes, the spread of a
    tick's move from its own rounds (or its rules with too few)."""
    started = time.perf_counter()
    rules = load_mode(mode)
    moves = int(np.isfinite(prices[:, 1:]).sum()) if prices.ndim == 2 else 0
    own_price = fit_price(prices) if moves >= MIN_PRICE_MOVES else None
    base: PriceView = own_price if own_price is not None else TruePrice(rules)
    sources = ",".join(f"{s.mode}:{s.rounds}" for s in pooled.hazard_prior.sources)
    digest = hashlib.sha256(f"{mode}|{pooled.rounds}|{data_key}|{sources}".encode()).hexdigest()
    return ModelSet(
        mode=mode,
        version=f"{mode}@{pooled.rounds}r-pooled-{digest[:10]}",
        source="pooled",
        rounds=pooled.rounds,
        fitted_at=datetime.now(UTC),
        fit_seconds=round(time.perf_counter() - started, 3),
        hazard=PooledHazard(pooled.hazard),
        price=PooledPrice(pooled.drift, base),
        economics=economics(rules),
        price_model=own_price,
        pooled=pooled,
    )


@dataclass
class _Entry:
    models: ModelSet
    data_count: int
    checked_at: float
    refreshing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class ModelRegistry:
    def __init__(
        self,
        database: Database,
        *,
        min_rounds: int = 200,
        max_rounds: int = 5000,
        refit_growth: float = 0.1,
        check_interval_s: float = 30.0,
    ) -> None:
        self._db = database
        self.min_rounds = min_rounds
        self.max_rounds = max_rounds
        self.refit_growth = refit_growth
        self.check_interval_s = check_interval_s
        self._entries: dict[str, _Entry] = {}
        self._warming: set[str] = set()
        self._failed_at: dict[str, float] = {}  # mode -> when its last warm-up failed
        self._lock = threading.Lock()
        self._fit_lock = threading.Lock()

    def get(self, mode: str) -> ModelSet:
        """The mode's current models; fits on first use, refreshes in the background."""
        entry = self._entries.get(mode)
        if entry is None:
            with self._fit_lock:  # not self._lock: peek() must never wait on a fit
                entry = self._entries.get(mode) or self._first_fit(mode)
        elif time.monotonic() - entry.checked_at > self.check_interval_s:
            self._refresh_later(mode, entry)
        return entry.models

    def peek(self, mode: str) -> ModelSet | None:
        """Cached models without any I/O; when there are none yet, a background fit is
        started and None returned (the caller uses the mode's rules meanwhile)."""
        entry = self._entries.get(mode)
        if entry is None:
            self.warm([mode])
            return None
        if time.monotonic() - entry.checked_at > self.check_interval_s:
            self._refresh_later(mode, entry)
        return entry.models

    def warm(self, modes: list[str]) -> None:
        """Fit `modes` in a background thread (each at most once at a time, and not again
        within WARM_RETRY_S of a failure: an outage must not start a thread per call)."""
        now = time.monotonic()
        with self._lock:
            todo = [
                m
                for m in modes
                if m not in self._entries
                and m not in self._warming
                and now - self._failed_at.get(m, float("-inf")) >= WARM_RETRY_S
            ]
            self._warming.update(todo)
        if todo:
            threading.Thread(target=self._warm, args=(todo,), daemon=True).start()

    def _warm(self, modes: list[str]) -> None:
        for mode in modes:
            try:
                self.get(mode)
            except BackendUnavailable as exc:  # the rules serve meanwhile
                self._failed_at[mode] = time.monotonic()
                log.warning("model warm-up failed", extra={"mode": mode, "error": exc.detail})
            except Exception:  # a bug; the next request after WARM_RETRY_S retries
                self._failed_at[mode] = time.monotonic()
                log.exception("model warm-up failed", extra={"mode": mode})
            finally:
                with self._lock:
                    self._warming.discard(mode)

    def status(self) -> list[dict[str, Any]]:
        return [
            {**e.models.evidence(), "fitted_at": e.models.fitted_at.isoformat()}
            for e in self._entries.values()
        ]

    def _count(self, mode: str) -> tuple[int, str]:
        with self._db.connection() as conn:
            count, newest = conn.execute(_VERSION_SQL, {"mode": mode}).fetchone()
        return int(count), str(newest)

    def _fit(self, mode: str) -> tuple[ModelSet, int]:
        count, newest = self._count(mode)
        if count == 0:
            return rules_model_set(mode), count
        if count < self.min_rounds:
            return self._pooled(mode, newest) or rules_model_set(mode), count
        with self._db.connection() as conn:
            history = load_history(conn, mode, self.max_rounds)
        models = fit_model_set(mode, history.rug, history.prices, newest, history.entry)
        log.info(
            "models fitted",
            extra={"mode": mode, "version": models.version, "seconds": models.fit_seconds},
        )
        return models, count

    def _pooled(self, mode: str, newest: str) -> ModelSet | None:
        """The thin mode pooled with every other stored mode (None when none has rounds)."""
        with self._db.connection() as conn:
            limit = min(self.max_rounds, max(POOL_SOURCE_ROUNDS, self.min_rounds))
            stats = load_round_stats(conn, limit)
            prices = load_history(conn, mode, self.min_rounds).prices
        own = stats.get(mode)
        priors = Priors.fit([s.upto() for m, s in stats.items() if m != mode])
        if own is None or priors is None:
            return None
        models = pooled_model_set(mode, priors.pool(own.upto()), prices, newest)
        log.info("models pooled", extra={"mode": mode, "version": models.version})
        return models

    def _first_fit(self, mode: str) -> _Entry:
        models, count = self._fit(mode)
        entry = _Entry(models, count, time.monotonic())
        self._entries[mode] = entry
        return entry

    def _refresh_later(self, mode: str, entry: _Entry) -> None:
        with entry.lock:
            if entry.refreshing:
                return
            entry.refreshing = True
        threading.Thread(target=self._refresh, args=(mode, entry), daemon=True).start()

    def _refresh(self, mode: str, entry: _Entry) -> None:
        try:
            count, _ = self._count(mode)
            grown = count - entry.data_count
            if grown >= max(1, self.refit_growth * max(entry.data_count, self.min_rounds)):
                models, count = self._fit(mode)
                self._entries[mode] = _Entry(models, count, time.monotonic())
            else:
                entry.checked_at = time.monotonic()
        except BackendUnavailable as exc:  # a failed refresh keeps serving the cached models
            log.warning("model refresh failed", extra={"mode": mode, "error": exc.detail})
            entry.checked_at = time.monotonic()
        except Exception:
            log.exception("model refresh failed", extra={"mode": mode})
            entry.checked_at = time.monotonic()
        finally:
            entry.refreshing = False
