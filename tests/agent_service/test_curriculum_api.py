"""`POST /v1/curriculum/next`: falling regret first, irrelevant scenarios left out, a
stored policy measured, prose only over the computed numbers."""

from __future__ import annotations

import re

from agent_service.app import create_app
from game.scenarios import Scenario
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, final

LEARNING = Scenario(mode="rising_hazard", start_tick=200).model_dump()
FLAT = Scenario(mode="rising_hazard", rug_min=201).model_dump()
BASE = Scenario(mode="rising_hazard").model_dump()
OFF = Scenario(mode="rising_hazard", hazard_scale=0.5).model_dump()


def results():
    """LEARNING: the bot's bet moves from tick 200 to the oracle's 241 over training;
    FLAT: it keeps betting at 200 (the same regret at every step)."""
    out = []
    for step, tick in ((0, 200), (20_000, 215), (40_000, 230), (60_000, 241)):
        out.append({"scenario": LEARNING, "step": step, "bet_ticks": [tick] * 40 + [205] * 10})
        out.append({"scenario": FLAT, "step": step, "bet_ticks": [200] * 40 + [205] * 10})
    return out


def ask(client, auth, **body):
    request = {"mode": "rising_hazard", "scenarios": [LEARNING, FLAT, BASE, OFF]} | body
    r = client.post("/v1/curriculum/next", json=request, headers=auth)
    assert r.status_code == 200, r.json
    return r.json


def test_falling_regret_comes_first_and_a_misleading_scenario_is_left_out(client, auth):
    answer = ask(client, auth, results=results(), stale_share=0.2, max_share=1.0)
    assert answer["generated_by"] == "deterministic"
    ids = [s["id"] for s in answer["scenarios"]]
    assert ids[0] == Scenario(**LEARNING).id
    first, flat = answer["scenarios"][0], answer["scenarios"][ids.index(Scenario(**FLAT).id)]
    assert first["trend_per_10k_steps"] < 0 < first["probability"]
    assert "falling" in first["reason"] and flat["trend_per_10k_steps"] == 0
    assert first["probability"] > flat["probability"]
    assert first["regret"]["low"] <= first["regret"]["mean"] <= first["regret"]["high"]
    assert abs(sum(s["probability"] for s in answer["scenarios"]) - 1) < 1e-5  # rounded to 1e-6
    # hazard x0.5: its optimum bets far later than the target's
    assert [s["id"] for s in answer["left_out"]] == [Scenario(**OFF).id]
    assert (
        answer["left_out"][0]["relevance"] < 0.9 and "left out" in answer["left_out"][0]["reason"]
    )
    assert answer["target_oracle_value"] > 0.37


def test_a_stored_policy_is_measured_on_every_relevant_scenario(client, auth):
    answer = ask(client, auth, policy_id="baseline:rising_hazard", eval_rounds=100)
    measured = [s for s in answer["scenarios"] if s["regret"] is not None]
    assert len(measured) == 3  # LEARNING, FLAT, BASE (OFF is left out)
    assert all(s["regret"]["mean"] > -0.2 for s in measured)


def test_cold_start_prefers_the_most_to_learn_per_env_step(client, auth):
    """Never measured: each counts at its oracle's value (LEARNING and FLAT 1.035 SOL a
    round, BASE 0.380) over its episode length (68, 268 and 152 env steps)."""
    answer = ask(client, auth, max_share=1.0)
    ids = [s["id"] for s in answer["scenarios"]]
    assert ids == [Scenario(**x).id for x in (LEARNING, FLAT, BASE)]
    shares = [s["step_share"] for s in answer["scenarios"]]
    assert shares[0] > shares[1] > shares[2] > 0
    assert all("never measured" in s["reason"] for s in answer["scenarios"])
    per_round = ask(client, auth, max_share=1.0, per_step=False)["scenarios"]
    assert per_round[0]["probability"] == per_round[1]["probability"] > per_round[2]["probability"]


def test_bad_requests_are_422(client, auth):
    bad = {"mode": "rising_hazard", "results": [{"scenario": BASE, "step": 0, "bet_ticks": []}]}
    r = client.post("/v1/curriculum/next", json=bad, headers=auth)
    assert r.status_code == 422 and r.json["errors"][0]["field"].startswith("results.0.bet_ticks")
    r = client.post("/v1/curriculum/next", json={"policy_id": "nope"}, headers=auth)
    assert r.status_code == 422


def test_with_a_language_model_the_prose_quotes_only_computed_numbers(tmp_path, fresh_pg_dsn, auth):
    probe = create_app(make_settings(tmp_path, fresh_pg_dsn))
    computed = ask(probe.test_client(), auth, results=results())
    probe.extensions["agent"].backends.close()
    probe.extensions["agent"].readiness.close()
    top = computed["scenarios"][0]
    summary = (
        f"Train mostly on {top['id']}: its regret of {top['regret']['mean']:.4f} SOL per round "
        f"is falling by {abs(top['trend_per_10k_steps']):.4f} per 10k steps; give it "
        f"{top['probability']:.1%} of the episodes."
    )
    with FakeLLM([final({"summary": summary})]) as llm:
        app = create_app(make_settings(tmp_path, fresh_pg_dsn, llm_models=llm.spec))
        answer = ask(app.test_client(), auth, results=results())
    app.extensions["agent"].backends.close()
    app.extensions["agent"].readiness.close()
    assert answer["generated_by"].startswith("model:")
    assert answer["summary"] == summary and answer["groundedness"] == 1.0
    assert answer["scenarios"] == computed["scenarios"]  # the numbers are the computation's
    quoted = re.findall(r"\d+\.\d+", summary)
    assert quoted and all(any(q in s["value"] for s in answer["sources"]) for q in quoted)
