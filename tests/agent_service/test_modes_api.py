"""Modes defined by data: `import --mode NEW --base MODE`, then every capability serves
the new mode; AGENT_MODES_DIR; GET /v1/modes; the fitted models on view; knowledge
passages checked against the mode's model."""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from agent_service.app import create_app
from agent_service.config import SettingsError, load_settings
from game.recording import RecordingOptions, write_recording
from game.rules import load_mode
from tests.conftest import API_KEY, create_database, drop_database, make_settings
from tests.support.jobs import follow_job
from tests.support.process import cli_env, run_cli
from tools.knowledge_base import seed

ROUNDS = 260


@pytest.fixture(scope="module")
def rising(tmp_path_factory, pg_admin_dsn):
    """An app started before `rising` exists; then simulated rising-hazard rounds are
    imported by the CLI as the new mode `rising` with classic's rules (once: the tests
    of this module only read)."""
    auth = {"Authorization": f"Bearer {API_KEY}"}
    tmp_path = tmp_path_factory.mktemp("rising")
    fresh_pg_dsn = create_database(pg_admin_dsn)
    modes_dir = tmp_path / "modes"
    modes_dir.mkdir()
    (modes_dir / "apitest_turbo.toml").write_text('extends = "fast_rug"\ndescription = "turbo"\n')
    app = create_app(
        make_settings(tmp_path, fresh_pg_dsn, models_min_rounds=100, modes_dir=modes_dir)
    )
    client = app.test_client()
    state = {"mode": "rising", "tick": 250, "price": 1.3}
    before = client.post("/v1/coach/strategy", json=state, headers=auth)
    assert before.status_code == 422 and before.json["errors"][0]["field"] == "mode"

    recording = tmp_path / "rising.jsonl"
    options = RecordingOptions(leaderboard_size=0)  # what `agent-service simulate` writes
    write_recording(load_mode("rising_hazard"), ROUNDS, 7, recording, n_players=3, options=options)
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path / "data"))
    refused = run_cli("import", str(recording), "--mode", "rising", env=env, timeout=300)
    assert refused.returncode == 1 and "--mode rising --base MODE`" in refused.stderr
    done = run_cli(
        "import", str(recording), "--mode", "rising", "--base", "classic", env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "mode rising declared with the rules of classic" in done.stdout
    time.sleep(1.1)  # the app remembers a name that was no mode for a second
    yield app, client, env
    app.extensions["agent"].backends.close()
    app.extensions["agent"].readiness.close()
    drop_database(pg_admin_dsn, fresh_pg_dsn)


def test_an_imported_mode_is_served_by_every_capability(rising, auth):
    _, client, env = rising
    state = {"mode": "rising", "tick": 250, "price": 1.3}

    coach = client.post("/v1/coach/strategy", json=state, headers=auth)
    assert coach.status_code == 200, coach.json
    assert coach.json["model_version"].startswith("rising@")  # fitted from its rounds

    decide = client.post("/v1/hybrid/decide", json={"state": state, "rl_action": 1,
                         "bot_id": "modes-test"}, headers=auth)  # fmt: skip
    assert decide.status_code == 200, decide.json
    stats = client.get("/v1/hybrid/stats?mode=rising", headers=auth)
    assert stats.status_code == 200, stats.json

    r = client.post("/v1/features/discover", json={"mode": "rising", "targets": ["rug_within"]},
                    headers=auth)  # fmt: skip
    assert r.status_code == 202, r.json
    job = follow_job(client, auth, r.json["status_url"])
    assert job["state"] == "succeeded", job
    assert job["result"]["rounds"] == ROUNDS

    listed = {m["name"]: m for m in client.get("/v1/modes", headers=auth).json["modes"]}
    assert listed["rising"]["source"] == "db" and listed["rising"]["base"] == "classic"
    assert listed["rising"]["rules"]["rug_prob"] == 0.005  # classic's rules, inherited
    assert listed["apitest_turbo"]["source"] == "dir"
    assert listed["classic"]["source"] == "packaged"

    out = run_cli("modes", "--json", env=env)
    assert out.returncode == 0, out.stderr
    sources = {row["name"]: row["source"] for row in map(json.loads, out.stdout.splitlines())}
    assert sources["rising"] == "db" and sources["rising_hazard"] == "packaged"
    again = run_cli("import", "--mode", "rising", "--base", "fast_rug", str(__file__), env=env)
    assert again.returncode == 1 and "already stored with base 'classic'" in again.stderr


def test_the_fitted_models_are_on_view_against_the_documented_law(rising, auth):
    app, client, _ = rising
    dsn = app.extensions["agent"].settings.database_url.get_secret_value()
    r = client.get("/v1/models/game/rising", headers=auth)
    assert r.status_code == 200, r.json
    report = r.json
    assert (report["source"], report["mode_source"], report["base"]) == ("fitted", "db", "classic")
    assert report["rounds_used"] == report["rounds_stored"] == ROUNDS
    assert report["left_truncated_rounds"] == 0 and report["verified_rounds"] == 0
    hazard = report["hazard"]
    assert hazard["form"] == "monotone" and not hazard["constancy_test"]["constant"]
    bands = hazard["bands"]
    assert bands[0]["start"] == 1 and all(b["ci95"][0] <= b["rate"] <= b["ci95"][1] for b in bands)
    assert bands[-1]["rate"] > 3 * bands[0]["rate"]  # the hazard rises
    assert report["documented"]["law"] == "0.005 at every tick"
    gof = report["goodness_of_fit"]
    assert gof["rejects_documented_law"] and gof["p_value"] < 1e-6 and gof["df"] >= 2
    assert report["hazard_svg_url"] == "/v1/models/game/rising/hazard.svg"

    svg = client.get(report["hazard_svg_url"], headers=auth)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    text = svg.get_data(as_text=True)
    assert text.startswith("<svg") and "documented 0.005" in text and "<polygon" in text

    thin = client.get("/v1/models/game/fast_rug", headers=auth).json
    assert thin["source"] == "rules" and thin["hazard"]["form"] == "documented"
    assert thin["goodness_of_fit"] is None and thin["hazard"]["rate_per_tick"] == 0.02
    assert client.get("/v1/models/game/fast_rug/hazard.svg", headers=auth).status_code == 200
    missing = client.get("/v1/models/game/no_such_mode", headers=auth)
    assert missing.status_code == 404

    with psycopg.connect(dsn) as conn:  # what import marks on games: truncation, replay verdicts
        conn.execute("UPDATE games SET first_observed_tick = 12 WHERE game_id IN "
                     "(SELECT game_id FROM games WHERE mode = 'rising' LIMIT 3)")  # fmt: skip
        conn.execute("UPDATE games SET replay_ok = (rug_tick % 2 = 0) WHERE game_id IN "
                     "(SELECT game_id FROM games WHERE mode = 'rising' LIMIT 10)")  # fmt: skip
    counted = client.get("/v1/models/game/rising", headers=auth).json
    assert counted["left_truncated_rounds"] == 3
    assert counted["verified_rounds"] + counted["failed_verification_rounds"] == 10


def test_the_coach_does_not_quote_classic_passages_to_a_rising_mode(rising, auth):
    app, client, _ = rising
    seed(app.extensions["agent"].backends.knowledge())
    state = {"tick": 250, "price": 1.3}

    def passages(mode: str) -> dict:
        r = client.post("/v1/coach/strategy", json={**state, "mode": mode}, headers=auth)
        assert r.status_code == 200, r.json
        return next(e for e in r.json["model_evidence"] if e["source"] == "knowledge_search")

    rising_kb = passages("rising")
    assert rising_kb["chunks"], "passages that hold for any mode are still attached"
    assert all(c["mode"] is None for c in rising_kb["chunks"])
    assert not any("18.2 %" in c["text"] for c in rising_kb["chunks"])
    withheld = rising_kb["figures"]["withheld"]
    assert withheld and all("classic's hazard law" in w["reason"] for w in withheld)
    assert all("reject" in w["reason"] for w in withheld)

    classic_kb = passages("classic")  # served from classic's rules: its documents apply
    assert any(c["mode"] == "classic" for c in classic_kb["chunks"])
    assert "withheld" not in classic_kb["figures"]


def test_a_bad_modes_dir_stops_start_up_naming_the_file_and_key(tmp_path):
    (tmp_path / "broken.toml").write_text('extends = "classic"\nsidebet_window = 0\n')
    at_fault = r"AGENT_MODES_DIR: .*broken\.toml:2: key 'sidebet_window'"
    with pytest.raises(SettingsError, match=at_fault):
        load_settings({"AGENT_MODES_DIR": str(tmp_path)})
    env = cli_env(AGENT_MODES_DIR=str(tmp_path), DATABASE_URL="postgresql:///unused")
    out = run_cli("modes", env=env)
    assert out.returncode == 1 and "broken.toml:2: key 'sidebet_window'" in out.stderr
