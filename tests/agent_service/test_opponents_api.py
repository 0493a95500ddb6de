"""Opponent modeling through the API, on rounds simulated with the seven personas and
imported like any recording: the fit job, archetypes that recover the personas, a
next-action model that beats both baselines, profiles, paging, predict, bad input."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from sklearn.metrics import adjusted_rand_score

from agent_service.app import create_app
from capabilities.chat.text import pct
from game.personas import PERSONAS, make_players
from game.recording import START, RecordingOptions, write_recording
from game.rules import load_mode
from tests.conftest import create_database, drop_database, make_settings
from tests.support.jobs import follow_job
from tools.importer import import_file
from tools.migrations import migrate

SEED, ROUNDS, PLAYERS = 41, 260, 21  # three players per persona
FIT = {"max_moments": 40_000, "max_iter": 40}


@pytest.fixture(scope="module")
def opponents_app(pg_admin_dsn, tmp_path_factory):
    dsn = create_database(pg_admin_dsn)
    tmp = tmp_path_factory.mktemp("opponents")
    main, late = tmp / "main.jsonl", tmp / "late.jsonl"
    options = RecordingOptions(leaderboard_size=0)
    write_recording(load_mode("classic"), ROUNDS, SEED, main, n_players=PLAYERS, options=options)
    # three later rounds with players of another seed: too little history for an archetype
    later = RecordingOptions(leaderboard_size=0, start=START + timedelta(days=2))
    write_recording(load_mode("classic"), 3, SEED + 1, late, n_players=4, options=later)
    with psycopg.connect(dsn) as conn:
        migrate(conn)
    with psycopg.connect(dsn) as conn:
        import_file(conn, main)
        import_file(conn, late)
    application = create_app(make_settings(tmp, dsn))
    application.config["TESTING"] = True
    yield application
    state = application.extensions["agent"]
    state.readiness.close()
    state.backends.close()
    drop_database(pg_admin_dsn, dsn)


@pytest.fixture(scope="module")
def fitted(opponents_app):
    client = opponents_app.test_client()
    auth = {"Authorization": "Bearer test-key-0123456789"}
    assert client.get("/v1/opponents/model", headers=auth).status_code == 404
    r = client.post("/v1/opponents/fit", json=FIT, headers=auth)
    assert r.status_code == 202, r.json
    job = follow_job(client, auth, r.json["status_url"], within=300)
    assert job["state"] == "succeeded", job
    return client, auth, job


def test_archetypes_recover_the_personas(fitted):
    client, auth, _ = fitted
    personas = {p.player_id: p.persona for p in make_players(PLAYERS, SEED)}
    items, cursor = [], None
    while True:
        page = client.get(
            "/v1/opponents", query_string={"limit": 8, **({"cursor": cursor} if cursor else {})},
            headers=auth,
        ).json  # fmt: skip
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len({i["player_id"] for i in items}) == len(items) == PLAYERS + 4
    ours = [i for i in items if i["player_id"] in personas]
    labels = [i["archetype"]["name"] for i in ours]
    truth = [personas[i["player_id"]] for i in ours]
    assert adjusted_rand_score(truth, labels) >= 0.8
    assert len(set(truth)) == len(PERSONAS)
    short = [i for i in items if i["player_id"] not in personas]
    assert {i["archetype"]["name"] for i in short} == {"too little data"}
    assert all(i["archetype"]["probability"] is None for i in short)
    # activity order, then a filter on one archetype
    assert [i["rounds_played"] for i in items] == sorted(
        (i["rounds_played"] for i in items), reverse=True
    )
    name = Counter(labels).most_common(1)[0][0]
    only = client.get("/v1/opponents", query_string={"archetype": name, "limit": 500},
                      headers=auth).json["items"]  # fmt: skip
    assert {i["archetype"]["name"] for i in only} == {name}
    by_pnl = client.get("/v1/opponents?sort=pnl&limit=500", headers=auth).json["items"]
    assert [i["pnl"] for i in by_pnl] == sorted((i["pnl"] for i in by_pnl), reverse=True)


def test_the_model_beats_both_baselines_and_is_calibrated(fitted):
    client, auth, job = fitted
    body = client.get("/v1/opponents/model", headers=auth).json
    assert body["model_id"] == job["result"]["model_id"]
    assert body["rounds"] == ROUNDS + 3 and body["players"] == PLAYERS + 4
    h10 = body["summary"]["evaluation"]["horizons"]["10"]
    assert h10["acting_moments"] > 300
    assert h10["top1"] >= 0.70
    assert h10["top1"] >= h10["baseline_majority"] + 0.10
    assert h10["top1"] >= h10["baseline_own_frequency"] + 0.10
    assert h10["ece"] <= 0.05
    assert h10["top1_ci"][0] <= h10["top1"] <= h10["top1_ci"][1]
    assert len(body["summary"]["archetypes"]["groups"]) >= 5
    # the trees kept are those the later rounds' log loss asked for, at most max_iter
    kept = body["summary"]["evaluation"]["iterations"]
    assert 1 <= kept["chosen"] <= kept["max"] == FIT["max_iter"]
    assert kept["log_loss_at"][str(kept["chosen"])] == min(kept["log_loss_at"].values())


def test_a_profile_and_an_unknown_player(fitted):
    client, auth, _ = fitted
    player = make_players(PLAYERS, SEED)[4]  # the whale
    body = client.get(f"/v1/opponents/{player.player_id}", headers=auth).json
    assert body["username"] == player.username and body["level"] == player.level
    figures = body["profile"]["figures"]
    assert figures["stake"]["value"] > 0.3 and figures["stake"]["n"] >= 10
    low, high = figures["exit_multiple"]["ci95"]
    assert low <= figures["exit_multiple"]["value"] <= high
    assert body["profile"]["model_accuracy"]["acting_moments"] > 0
    r = client.get("/v1/opponents/did:privy:nobody", headers=auth)
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_predict_answers_in_order_and_marks_short_histories(fitted):
    client, auth, _ = fitted
    players = make_players(PLAYERS, SEED)
    newcomer = make_players(4, SEED + 1)[0].player_id
    items = []
    for i in range(100):
        pid = [players[i % PLAYERS].player_id, newcomer, "did:privy:never-seen"][i % 3]
        item = {"player_id": pid, "state": {"tick": 5 + i, "price": 1.2}, "horizon_ticks": 10}
        if i % 2:
            item["position"] = {"qty": 0.5, "avg_cost": 1.0, "entry_tick": 2}
        items.append(item)
    r = client.post("/v1/opponents/predict", json={"items": items}, headers=auth)
    assert r.status_code == 200, r.json
    out = r.json["items"]
    assert [o["player_id"] for o in out] == [i["player_id"] for i in items]
    for o in out:
        assert sum(o["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert {o["basis"] for o in out if o["player_id"] == newcomer} == {"archetype"}
    assert {o["basis"] for o in out if o["player_id"] == "did:privy:never-seen"} == {"population"}
    assert {o["basis"] for o in out[::3]} == {"player"}
    # a sidebet regular with no sidebet running, long after the last: sidebet is likely
    regular = players[3]
    one = {"player_id": regular.player_id, "horizon_ticks": 40,
           "state": {"tick": 100, "price": 1.0, "sidebets_this_round": 0}}  # fmt: skip
    o = client.post("/v1/opponents/predict", json={"items": [one]}, headers=auth).json["items"][0]
    assert o["likely_action"] == "sidebet"


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{"player_id": "x", "state": {"tick": 1, "price": 1.0}}] * 101},
        {"items": [{"player_id": "x", "state": {"tick": 1, "price": 1.0, "bogus": 1}}]},
        {"items": [{"player_id": "x", "state": {"tick": -1, "price": 1.0}}]},
    ],
)
def test_predict_rejects_bad_input(fitted, body):
    client, auth, _ = fitted
    r = client.post("/v1/opponents/predict", json=body, headers=auth)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"


def test_the_hybrids_whale_forecast_reads_the_model_in_memory(fitted, opponents_app):
    from capabilities.opponents.service import sell_forecast

    client, auth, _ = fitted
    forecast = sell_forecast(opponents_app.extensions["agent"].backends.database)
    forecast.cache.refresh()
    whale = make_players(PLAYERS, SEED)[4]
    exit_at = client.get(f"/v1/opponents/{whale.player_id}", headers=auth).json["profile"][
        "figures"
    ]["exit_multiple"]["value"]
    near = forecast(whale.player_id, 30, 1.02 * exit_at, 1.0, 1.0, 5)
    far = forecast(whale.player_id, 30, 1.0, 1.0, 1.0, 5)
    assert near is not None and far is not None and near > far
    assert forecast("did:privy:unknown", 30, 1.0, 1.0, 1.0, 5) is None


def test_the_opponent_profile_tool_reads_the_stored_profile(fitted, opponents_app):
    import json

    from tools.agent_tools import build_tools

    database = opponents_app.extensions["agent"].backends.database
    tool = {t.name: t for t in build_tools(database=database, knowledge=None, publisher=None)}[
        "opponent_profile"
    ]
    whale = make_players(PLAYERS, SEED)[4]
    by_name = json.loads(tool(player=whale.username.lower()))
    assert by_name["found"] and by_name["player_id"] == whale.player_id
    assert by_name["profile"]["figures"]["stake"]["n"] >= 10
    assert by_name["live"]["trades"] >= by_name["trades"]
    assert json.loads(tool(player="nobody"))["found"] is False


def test_the_chat_predicts_a_player_s_next_action_at_a_named_tick(fitted):
    client, auth, _ = fitted
    regular = make_players(PLAYERS, SEED)[3]
    r = client.post("/v1/chat", json={"message": f"what will player {regular.player_id} do at"
                                                 " tick 100 at 1.4x"}, headers=auth)  # fmt: skip
    body = r.json
    assert body["intent"] == "opponents.ask" and body["clarification"] is None, body
    [evidence] = [e for e in body["evidence"] if e["source"] == "opponent_next_action"]
    item = {"player_id": regular.player_id, "state": {"tick": 100, "price": 1.4}}
    direct = client.post("/v1/opponents/predict", json={"items": [item]}, headers=auth).json
    odds = direct["items"][0]["probabilities"]
    assert evidence["figures"]["probabilities"] == pytest.approx(odds, abs=1e-6)
    assert f"buys with probability {pct(odds['buy'])}" in body["answer"]
    assert f"sells {pct(odds['sell'])}" in body["answer"]
