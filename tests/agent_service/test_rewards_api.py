"""`POST /v1/rewards/review`: the bot's reward reviewed exactly, bad specs refused naming
the field, an A/B training job with a tiny budget, prose only over computed numbers."""

from __future__ import annotations

import re

import pytest

from agent_service.app import create_app
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, final
from tests.support.jobs import follow_job

Q = 1 - 0.005  # classic: survive one tick
P_WIN = 1 - Q**40  # a 40-tick sidebet wins
BOT_COST = Q**200 * (1 - 5 * P_WIN)  # betting at 200 in every round that reaches it


def review(client, auth, **body):
    r = client.post("/v1/rewards/review", json=body, headers=auth)
    assert r.status_code == 200, r.json
    return r.json


def test_the_bots_reward_in_classic_bets_at_200_and_costs_what_the_closed_form_says(client, auth):
    answer = review(client, auth)  # default: the bot's reward, classic, its gamma 0.99
    assert answer["generated_by"] == "deterministic"
    bot = answer["reward_optimum"]
    assert bot["first_bet_tick"] == 200
    assert bot["bets_per_round"] == pytest.approx(Q**200, abs=1e-9)
    assert bot["win_rate"] == pytest.approx(P_WIN, abs=1e-6)
    assert bot["pnl_per_round"] == pytest.approx(-BOT_COST, abs=1e-9)
    assert answer["true_optimum"]["pnl_per_round"] == pytest.approx(0.0, abs=1e-9)
    assert answer["ev_lost_per_round"] == pytest.approx(BOT_COST, abs=1e-9)  # 0.0336
    terms = {t["term"]: t for t in answer["terms"]}
    assert terms["terminal.win"]["pays_for"] == "money"
    assert terms["terminal.skip[1]"]["pays_for"] == "other"
    assert terms["terminal.skip[2]"]["pays"] == -0.75
    skip = next(f for f in answer["findings"] if f.startswith("The skip penalties"))
    assert "tick 200" in skip and f"{BOT_COST:.4f} SOL per round in classic" in skip
    assert any("memoryless" in f and f"{P_WIN:.1%}" in f for f in answer["findings"])
    proposal = answer["proposal"]
    assert proposal["ev_lost_per_round"] == pytest.approx(0.0, abs=1e-9)
    assert proposal["shaping_keeps_policy"] is True
    assert proposal["reward"]["shaping"]["gamma"] == proposal["gamma"]
    assert any("Phi(terminal) = 0" in line for line in proposal["proof_obligation"])


def test_rising_hazard_timing_and_the_discount(client, auth):
    answer = review(client, auth, mode="rising_hazard", include_tables=True)
    assert answer["true_optimum"]["first_bet_tick"] == 241
    assert answer["reward_optimum"]["first_bet_tick"] == 211  # penalties and discount
    assert answer["proposal"]["gamma"] == 1.0  # at 0.99 waiting is under-valued
    assert answer["proposal"]["optimum"]["first_bet_tick"] == 241
    tables = answer["tables"]
    assert len(tables["log_survival"]) == len(tables["ev"]) + 1 and tables["window"] == 40


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reward": {"terminal": {"skip": [{"min_ticks": 0, "max_ticks": 250, "reward": -1},
                                           {"min_ticks": 200, "reward": -1}]}}},
         "reward.terminal.skip"),
        ({"reward": {"terminal": {"skip": [{"min_ticks": 300, "max_ticks": 2, "reward": 1}]}}},
         "reward.terminal.skip.0"),
        ({"reward": {"steps": [{"name": "x", "reward": 1,
                                "when": [{"field": "mood", "op": ">", "value": 1}]}]}},
         "reward.steps.0.when.0.field"),
        ({"reward": {"terminal": {"win": 0, "loss": 0}}}, "reward"),
        ({"reward": {"terms": []}}, "reward.terms"),
        ({"gamma": 1.5}, "gamma"),
        ({"mode": "poker"}, "mode"),
        ({"ab": {"seeds": 3}}, "ab.seeds"),
        ({"ab": {"n_envs": 3}}, "ab"),
    ],
)  # fmt: skip
def test_bad_requests_are_422_naming_the_field(client, auth, body, field):
    r = client.post("/v1/rewards/review", json=body, headers=auth)
    assert r.status_code == 422, r.json
    assert any(e["field"] == field for e in r.json["errors"]), r.json


def test_a_training_run_refuses_a_bad_reward_spec_naming_the_field(client, auth):
    tiny = {"mode": "fast_rug", "steps": 1000, "n_envs": 4, "ppo": {"n_steps": 256}}
    bad = client.post("/v1/training/runs", json=tiny | {"reward": {"terminal": {"win": "x"}}},
                      headers=auth)  # fmt: skip
    assert bad.status_code == 422 and "terminal.win" in bad.json["errors"][0]["message"]


def test_an_ab_job_trains_both_arms_on_paired_seeds(client, auth):
    pytest.importorskip("stable_baselines3")
    ab = {
        "seeds": 5,
        "steps": 1000,
        "n_envs": 4,
        "eval_rounds": 50,
        "ppo": {"n_steps": 256, "batch_size": 128, "n_epochs": 1},
    }
    answer = review(client, auth, ab=ab)
    job = follow_job(client, auth, answer["ab"]["status_url"], within=300)
    assert job["state"] == "succeeded", job
    status = client.get(answer["ab"]["result_url"], headers=auth).json
    assert status["state"] == "succeeded"
    result = status["result"]
    assert result == job["result"]
    assert len(result["seeds"]) == 5 and len(result["runs"]) == 10
    assert result["gammas"] == {"original": 0.99, "proposed": answer["proposal"]["gamma"]}
    by = {c["metric"]: c for c in result["comparisons"]}
    pnl = by["pnl_per_round"]
    assert pnl["difference"]["n"] == 5
    assert pnl["difference"]["low"] <= pnl["difference"]["mean"] <= pnl["difference"]["high"]
    originals = sorted(r["pnl_per_round"] for r in result["runs"] if r["arm"] == "original")
    assert pnl["original"]["mean"] == pytest.approx(sum(originals) / 5, abs=1e-6)
    assert result["exact"]["original"]["first_bet_tick"] == 200
    other = client.post("/v1/training/runs", json={"mode": "fast_rug", "steps": 1000,
                        "n_envs": 4, "ppo": {"n_steps": 256}}, headers=auth)  # fmt: skip
    assert client.get(f"/v1/rewards/ab/{other.json['job_id']}", headers=auth).status_code == 404


def test_with_a_language_model_the_prose_quotes_only_computed_numbers(tmp_path, fresh_pg_dsn, auth):
    probe = create_app(make_settings(tmp_path, fresh_pg_dsn))
    computed = review(probe.test_client(), auth)
    probe.extensions["agent"].backends.close()
    probe.extensions["agent"].readiness.close()
    bot = computed["reward_optimum"]
    summary = (
        f"The skip penalties make the bot bet at tick {bot['first_bet_tick']} in "
        f"{bot['bets_per_round']:.4f} of rounds; that costs "
        f"{computed['ev_lost_per_round']:.4f} SOL per round."
    )
    with FakeLLM([final({"summary": summary})]) as llm:
        app = create_app(make_settings(tmp_path, fresh_pg_dsn, llm_models=llm.spec))
        answer = review(app.test_client(), auth)
    app.extensions["agent"].backends.close()
    app.extensions["agent"].readiness.close()
    assert answer["generated_by"].startswith("model:")
    assert answer["summary"] == summary and answer["groundedness"] == 1.0
    assert answer["reward_optimum"] == bot and answer["terms"] == computed["terms"]
    quoted = re.findall(r"\d+\.\d+", summary)
    assert quoted and all(any(q in s["value"] for s in answer["sources"]) for q in quoted)
