"""The profile's "psychology" narrative: a language model's prose that quotes only the
profile's numbers is served; one quoting a number the profile lacks is dropped; without
a model there is none."""

from __future__ import annotations

import psycopg
import pytest

from agent_service.app import create_app
from capabilities.opponents import service
from capabilities.opponents.history import from_activity
from capabilities.opponents.models import OpponentFitSpec
from game.personas import make_players, simulate_players
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, final
from tools.migrations import migrate
from tools.postgres import Database


@pytest.fixture
def profiled(fresh_pg_dsn):
    """A database holding a small fit; the id of its most active player."""
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
    rules = load_mode("classic")
    rounds = simulate_rounds(rules, 40, 3)
    players = make_players(7, 3)
    h = from_activity(rounds, simulate_players(rules, rounds, players), players)
    fitted, rows = service.fit(h, OpponentFitSpec(max_moments=2_000, max_iter=5))
    database = Database(fresh_pg_dsn)
    try:
        service.store(database, fitted, rows)
    finally:
        database.close()
    return fresh_pg_dsn, max(rows, key=lambda r: r[6])[0]


def _get(tmp_path, dsn, player_id, auth, llm=None):
    extra = {"llm_models": llm.spec} if llm else {}
    app = create_app(make_settings(tmp_path, dsn, **extra))
    try:
        r = app.test_client().get(f"/v1/opponents/{player_id}", headers=auth)
    finally:
        app.extensions["agent"].readiness.close()
        app.extensions["agent"].backends.close()
    assert r.status_code == 200, r.json
    return r.json


def test_without_a_model_the_profile_has_no_narrative(tmp_path, profiled, auth):
    dsn, player = profiled
    body = _get(tmp_path, dsn, player, auth)
    assert body["summary"] is None and body["generated_by"] == "deterministic"
    assert body["fallback_reason"] == "no_llm"
    assert body["profile"]["figures"]["exit_multiple"]["n"] > 0


def test_a_narrative_quoting_the_profile_is_served(tmp_path, profiled, auth):
    dsn, player = profiled
    plain = _get(tmp_path, dsn, player, auth)
    exit_multiple = plain["profile"]["figures"]["exit_multiple"]["value"]
    prose = (
        f"Over {plain['rounds_played']} rounds this player took profits early, around "
        f"{exit_multiple:.2f}x the average cost, after {plain['trades']} trades in all."
    )
    with FakeLLM([final({"summary": prose})]) as llm:
        body = _get(tmp_path, dsn, player, auth, llm)
    assert body["summary"] == prose
    assert body["generated_by"].startswith("model:") and body["groundedness"] == 1.0
    assert body["fallback_reason"] is None
    assert body["profile"] == plain["profile"]


def test_a_narrative_quoting_a_number_the_profile_lacks_is_dropped(tmp_path, profiled, auth):
    dsn, player = profiled
    plain = _get(tmp_path, dsn, player, auth)
    # four of five numbers from the profile: enough for the runtime (80 %), not here
    figures = plain["profile"]["figures"]
    prose = (
        f"Over {plain['rounds_played']} rounds and {plain['trades']} trades, entering near "
        f"tick {figures['entry_tick']['value']:.1f} and selling at "
        f"{figures['exit_multiple']['value']:.2f}x, this player is tilted 73.91% of the time."
    )
    with FakeLLM([final({"summary": prose})] * 3) as llm:
        body = _get(tmp_path, dsn, player, auth, llm)
    assert body["summary"] is None and body["generated_by"] == "deterministic"
    assert body["fallback_reason"] == "ungrounded"
    assert body["profile"] == plain["profile"]


def test_an_unknown_player_is_404_with_or_without_a_model(tmp_path, profiled, auth):
    dsn, _ = profiled
    with FakeLLM([]) as llm:
        app = create_app(make_settings(tmp_path, dsn, llm_models=llm.spec))
        r = app.test_client().get("/v1/opponents/nobody", headers=auth)
        app.extensions["agent"].readiness.close()
        app.extensions["agent"].backends.close()
    assert r.status_code == 404 and r.content_type == "application/problem+json"
    assert llm.received == []
