"""`POST /v1/meta/adapt`: a thin mode's models pooled with the stored modes, with its
chart; bad input is 422 naming the field, nothing to borrow from is 404."""

from __future__ import annotations

import pytest

from agent_service.app import create_app
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.conftest import make_settings
from tests.support.stored_rounds import store_rounds


@pytest.fixture
def fresh(tmp_path, fresh_pg_dsn):
    """An app on an empty database of its own (what is stored decides the answer)."""
    app = create_app(make_settings(tmp_path, fresh_pg_dsn))
    app.config["TESTING"] = True
    yield app.test_client(), fresh_pg_dsn
    app.extensions["agent"].readiness.close()
    app.extensions["agent"].backends.close()


def test_adapt_answers_own_and_pooled_estimates_with_a_chart(fresh, auth):
    client, dsn = fresh
    for seed, mode in enumerate(("classic", "fast_rug", "high_volatility")):
        store_rounds(dsn, simulate_rounds(load_mode(mode), 200, seed=30 + seed))
    store_rounds(dsn, simulate_rounds(load_mode("profit_payout"), 25, seed=40))
    r = client.post("/v1/meta/adapt", json={"mode": "profit_payout"}, headers=auth)
    assert r.status_code == 200, r.json
    body = r.json
    assert body["mode"] == "profit_payout" and body["rounds"] == 25
    assert body["served_as"] == "pooled"
    assert body["generated_by"] == "deterministic"
    hazard = body["hazard"]
    assert next(iter(hazard["resembles"])) != "fast_rug"
    assert 0 < hazard["weight_on_others"] < 1
    assert hazard["own"] is not None and hazard["rounds_to_dominate"] > 0
    assert {s["mode"] for s in body["sources"]} == {"classic", "fast_rug", "high_volatility"}
    assert [p["rounds"] for p in body["trajectory"]] == [0, 5, 10, 20, 25]
    first, last = body["trajectory"][0], body["trajectory"][-1]
    assert first["hazard"]["own"] is None and first["hazard"]["weight_on_others"] == 1.0
    assert last["hazard"]["weight_on_others"] < first["hazard"]["weight_on_others"]
    report = client.get("/v1/models/game/profit_payout", headers=auth)
    assert report.status_code == 200, report.json
    assert (report.json["source"], report.json["hazard"]["form"]) == ("pooled", "pooled")
    assert report.json["pooling"]["hazard"]["pooled"] == hazard["pooled"]
    assert client.get("/v1/models/game/profit_payout/hazard.svg", headers=auth).status_code == 200
    chart = client.get(body["chart_url"], headers=auth)
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert b"pooled across modes" in chart.data and b"<polyline" in chart.data
    # only the named sources
    r = client.post("/v1/meta/adapt", json={"mode": "profit_payout", "sources": ["fast_rug"]},
                    headers=auth)  # fmt: skip
    assert [s["mode"] for s in r.json["sources"]] == ["fast_rug"]
    assert "sources=fast_rug" in r.json["chart_url"]


def test_adapt_bad_input_names_the_field(fresh, auth):
    client, dsn = fresh
    r = client.post("/v1/meta/adapt", json={"mode": "fast_rug"}, headers=auth)
    assert r.status_code == 404, r.json  # no mode has rounds: nothing to borrow from
    store_rounds(dsn, simulate_rounds(load_mode("classic"), 30, seed=50))
    r = client.post("/v1/meta/adapt", json={"mode": "no_such_mode"}, headers=auth)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "mode"
    r = client.post("/v1/meta/adapt", json={"mode": "fast_rug", "sources": ["rising_hazard"]},
                    headers=auth)  # fmt: skip
    assert r.status_code == 404 and "rising_hazard" in r.json["detail"]
    r = client.post("/v1/meta/adapt", json={"mode": "fast_rug", "extra": 1}, headers=auth)
    assert r.status_code == 422
    assert client.get("/v1/meta/adapt/nope/chart.svg", headers=auth).status_code == 404
    r = client.get("/v1/meta/adapt/fast_rug/chart.svg?max_rounds=1", headers=auth)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "query.max_rounds"


def test_transfer_trains_warm_and_from_scratch_and_counts_steps_to_the_oracle(fresh, auth):
    """The job trains both arms with the lab's numpy PPO (no torch or SB3 needed: the
    source's SB3 zip is read by `game.sb3_zip`) and answers the comparison."""
    from tests.support.jobs import follow_job

    client, dsn = fresh
    for seed, mode in enumerate(("classic", "fast_rug")):
        store_rounds(dsn, simulate_rounds(load_mode(mode), 150, seed=60 + seed))
    store_rounds(dsn, simulate_rounds(load_mode("profit_payout"), 20, seed=70))
    tiny = {"mode": "profit_payout", "steps": 1024, "n_envs": 8, "n_steps": 256,
            "every_steps": 512, "eval_rounds": 50, "warm_learning_rate": 3e-5}  # fmt: skip
    r = client.post("/v1/meta/transfer", json=tiny, headers=auth)
    assert r.status_code == 202, r.json
    job = follow_job(client, auth, r.json["status_url"], within=400)
    assert job["state"] == "succeeded", job
    result = job["result"]
    assert result["engine"] == "numpy"
    assert result["source_policy"] == "baseline:classic"  # profit_payout has classic's chart
    assert result["source_mode"] == "classic"
    assert 0.05 <= result["source_resemblance"] <= 1 and "note" not in result
    assert result["learning_rate"] == {"warm": 3e-5, "scratch": 3e-4}
    oracle = result["oracle_value"]
    assert oracle > 0 and result["target"] == "90% of the oracle's value"
    limit = 0.1 * oracle
    for arm in ("warm", "scratch"):
        a = result[arm]
        steps = [p["step"] for p in a["curve"]]
        assert steps[0] == 0 and steps[-1] >= 1024
        assert a["final_regret"] == a["curve"][-1]["regret"] is not None
        within = [p["regret"] <= limit for p in a["curve"]]
        # first within, and the first from which it stays within, read off the curve
        first = steps[within.index(True)] if any(within) else None
        stays = next((s for i, s in enumerate(steps) if all(within[i:])), None)
        assert (a["first_within_target"], a["steps_to_target"]) == (first, stays)
        best = 1 - min(p["regret"] for p in a["curve"]) / oracle
        assert a["best_share_of_oracle"] == pytest.approx(best)
    warm, scratch = result["warm"]["steps_to_target"], result["scratch"]["steps_to_target"]
    saved = None if warm is None or scratch is None else scratch - warm
    assert result["steps_saved"] == saved
    # the warm start begins where the source policy is, not at a random network
    assert result["warm"]["curve"][0]["regret"] != result["scratch"]["curve"][0]["regret"]


def test_transfer_bad_input(fresh, auth):
    client, _ = fresh
    r = client.post("/v1/meta/transfer", json={"mode": "classic", "n_envs": 3}, headers=auth)
    assert r.status_code == 422  # n_steps is not a multiple of n_envs
    r = client.post("/v1/meta/transfer", json={"mode": "classic"}, headers=auth)
    assert r.status_code == 404  # no stored rounds: no closest mode, and no policy given
    r = client.post("/v1/meta/transfer", json={"mode": "classic", "source_policy": "baseline:nope"},
                    headers=auth)  # fmt: skip
    assert r.status_code == 404
