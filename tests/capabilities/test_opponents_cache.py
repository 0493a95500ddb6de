"""The API's opponent model cache: a request is answered from the model held, never
waiting on the database, and a refit still shows within about a second."""

from __future__ import annotations

import time
from dataclasses import replace
from uuid import uuid4

from capabilities.opponents import service
from capabilities.opponents.history import from_activity
from capabilities.opponents.models import OpponentFitSpec
from game.personas import make_players, simulate_players
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.support.jobs import migrated
from tools.postgres import Database


def _small_fit() -> tuple[service.FittedModel, list]:
    rules = load_mode("classic")
    rounds = simulate_rounds(rules, 40, 3)
    players = make_players(7, 3)
    history = from_activity(rounds, simulate_players(rules, rounds, players), players)
    return service.fit(history, OpponentFitSpec(max_moments=5_000, max_iter=5, seed=0))


def _until(predicate, within: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_refit_shows_without_a_request_waiting_for_it(fresh_pg_dsn):
    migrated(fresh_pg_dsn)
    database = Database(fresh_pg_dsn)
    try:
        cache = service.ModelCache(database, fresh_s=0.2)
        assert cache.fresh() is None  # nothing stored: asked at once
        first, rows = _small_fit()
        service.store(database, first, rows)
        assert cache.fresh().model_id == first.model_id  # none held: asked at once
        second = replace(first, model_id=uuid4())
        service.store(database, second, rows)
        time.sleep(0.25)  # past fresh_s: the next request starts a check and does not wait
        # the model held answers while a background check finds the refit
        assert cache.fresh().model_id == first.model_id
        assert _until(lambda: cache.fresh().model_id == second.model_id)
    finally:
        database.close()


def test_the_held_model_answers_while_the_database_is_away():
    away = Database("postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=1")
    try:
        cache = service.ModelCache(away, fresh_s=0.0)
        held = object()
        cache.current = held  # type: ignore[assignment]
        assert cache.fresh() is held
        # the failed check is recorded, and a later request starts the next one
        assert _until(lambda: cache._checked > 0 and not cache._checking.locked())
        assert cache.fresh() is held
    finally:
        away.close()
