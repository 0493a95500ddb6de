"""The model registry fits from stored rounds, caches, refits when history grows, and
serves the mode's rules while history is thin."""

from __future__ import annotations

import time

import psycopg
import pytest

from agent_service.app import create_app
from capabilities.engines.game_models.registry import ModelRegistry
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.conftest import make_settings
from tests.support.stored_rounds import store_rounds


@pytest.fixture
def database(tmp_path, fresh_pg_dsn):
    app = create_app(make_settings(tmp_path, fresh_pg_dsn))  # migrates the fresh database
    yield app.extensions["agent"].backends.database, fresh_pg_dsn
    app.extensions["agent"].backends.close()


def test_thin_history_is_served_from_the_rules_then_fitted_as_rounds_arrive(database):
    db, dsn = database
    registry = ModelRegistry(db, min_rounds=200, check_interval_s=0.0)
    assert registry.get("classic").source == "rules"
    store_rounds(dsn, simulate_rounds(load_mode("classic"), 600, seed=1))
    registry = ModelRegistry(db, min_rounds=200, check_interval_s=0.0)
    first = registry.get("classic")
    assert (first.source, first.rounds) == ("fitted", 600)
    assert first.version.startswith("classic@600r-")
    assert first.hazard_model.kind == "constant"
    assert registry.get("classic") is first  # cached
    store_rounds(dsn, simulate_rounds(load_mode("classic"), 100, seed=1, first_round=600),
                 offset=600)  # fmt: skip
    deadline = time.monotonic() + 10
    while registry.get("classic").rounds == 600 and time.monotonic() < deadline:
        time.sleep(0.05)  # refits in the background
    assert registry.get("classic").rounds == 700


def test_modes_are_fitted_separately_and_peek_never_waits(database):
    db, dsn = database
    store_rounds(dsn, simulate_rounds(load_mode("rising_hazard"), 400, seed=2))
    registry = ModelRegistry(db, min_rounds=200)
    assert registry.peek("rising_hazard") is None  # starts a background fit
    deadline = time.monotonic() + 10
    while registry.peek("rising_hazard") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    fitted = registry.peek("rising_hazard")
    assert fitted is not None and fitted.hazard_model.kind == "monotone"
    assert registry.get("classic").source == "rules"


def test_left_truncated_rounds_are_fitted_from_their_first_observed_tick(database):
    db, dsn = database
    store_rounds(dsn, simulate_rounds(load_mode("classic"), 300, seed=3))
    with psycopg.connect(dsn) as conn:  # as if their recordings had begun at tick 5
        marked = conn.execute(
            "UPDATE games SET first_observed_tick = 5 WHERE rug_tick > 5 AND game_id IN "
            "(SELECT game_id FROM games ORDER BY game_id LIMIT 100)"
        ).rowcount
        rug = [r for (r,) in conn.execute("SELECT rug_tick FROM games")]
    fitted = ModelRegistry(db, min_rounds=200).get("classic").hazard_model
    assert fitted.left_truncated == marked > 90
    assert fitted.exposure == sum(rug) - 5 * marked
