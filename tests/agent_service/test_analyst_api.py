"""The Game Analyst over HTTP: fit a bot's surrogate, then explain its decisions."""

from __future__ import annotations

import numpy as np


def bot(obs: list[float]) -> int:
    """A sidebet bot: bets after tick 200 unless the last ticks were wild."""
    return int(obs[0] >= 200 and obs[8] < 0.08)


def observations(n: int, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    obs = np.zeros((n, 15))
    obs[:, 0] = rng.integers(0, 400, n)
    obs[:, 1] = rng.lognormal(0, 0.4, n)
    obs[:, 2] = 1
    obs[:, 8] = rng.uniform(0, 0.15, n)
    obs[:, 9] = rng.normal(0, 0.1, n)
    return obs.tolist()


def test_fit_then_explain_with_drivers_and_a_counterfactual(client, auth):
    decisions = [{"observation": o, "action": bot(o)} for o in observations(1500, 1)]
    r = client.post("/v1/analyst/fit", json={"bot_id": "rule-bot", "decisions": decisions},
                    headers=auth)  # fmt: skip
    assert r.status_code == 200, r.json
    fit = r.json
    assert fit["holdout_agreement"] >= 0.95 > fit["majority_agreement"]
    assert fit["features"][0] == "tick" and fit["n_holdout"] == 450

    obs = [250, 1.2, 1, 0, 0, 0, 0, 0, 0.02, 0, 0, 0, 0, 0, 0]
    r = client.post("/v1/analyst/explain", headers=auth, json={
        "state": {"tick": 250, "price": 1.2}, "action": 1, "bot_id": "rule-bot",
        "observation": obs, "stake": 0.1})  # fmt: skip
    assert r.status_code == 200, r.json
    e = r.json
    assert (e["action"], e["best_action"]) == ("sidebet", "hold")
    assert e["cost"] > 0 and e["cost_ci95"][0] <= e["cost"] <= e["cost_ci95"][1]
    assert e["surrogate_action"] == "sidebet"
    assert {d["feature"] for d in e["drivers"][:2]} <= {"tick", "volatility_10"}
    assert e["counterfactual_action"] == "hold"
    changed = {c["feature"]: c["to_value"] for c in e["counterfactual"]}
    flipped = list(obs)
    for name, value in changed.items():
        flipped[fit["features"].index(name)] = value
    assert bot(flipped) == 0  # the counterfactual flips the real bot
    assert {"ev_engine", "surrogate"} <= set(e["evidence"])


def test_explain_without_a_bot_gives_the_value_side_only(client, auth):
    r = client.post("/v1/analyst/explain", headers=auth,
                    json={"state": {"tick": 10, "price": 1.0}, "action": "hold"})  # fmt: skip
    assert r.status_code == 200
    assert r.json["cost"] == 0.0 and r.json["drivers"] is None


def test_analyst_errors(client, auth):
    r = client.post("/v1/analyst/explain", headers=auth, json={
        "state": {"tick": 10, "price": 1.0}, "action": "hold", "bot_id": "nobody"})  # fmt: skip
    assert r.status_code == 404
    r = client.post("/v1/analyst/fit", headers=auth, json={"bot_id": "b", "decisions": [
        {"observation": [1.0, 2.0], "action": 0}] * 60})  # fmt: skip
    assert r.status_code == 422 and "feature_names" in r.json["errors"][0]["message"]
    r = client.post("/v1/analyst/fit", headers=auth, json={"bot_id": "b", "decisions": []})
    assert r.json["errors"][0]["field"] == "decisions"
