"""Training runs through the API: a tiny PPO run as a job, its curve, its policy."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from game.observation import round_observations
from game.rules import load_mode
from game.simulator import simulate_rounds
from tests.conftest import make_settings
from tests.support.jobs import follow_job
from tools.policy_store import load_policy, policy_store

TINY = {
    "mode": "fast_rug",
    "steps": 2048,
    "n_envs": 8,
    "ppo": {"n_steps": 512, "batch_size": 256, "n_epochs": 2},
    "evaluation": {"every_steps": 1024, "rounds": 150},
    "name": "tiny",
}


@pytest.fixture
def settings(tmp_path, fresh_pg_dsn):  # type: ignore[no-untyped-def]
    """A database of its own: at start the job pool takes every job that other tests left
    queued in the session's database, and this module's runs would wait behind them."""
    return make_settings(tmp_path, fresh_pg_dsn)


def run(client, auth, spec):
    r = client.post("/v1/training/runs", json=spec, headers=auth)
    assert r.status_code == 202, r.json
    assert r.headers["Location"] == r.json["run_url"]
    job = follow_job(client, auth, r.json["status_url"], within=240)
    assert job["state"] == "succeeded", job
    return client.get(r.json["run_url"], headers=auth).json, job


def test_a_run_trains_stores_its_curve_and_a_policy_that_loads_without_torch(app, client, auth):
    body, job = run(client, auth, TINY)
    assert body["state"] == "succeeded" and body["progress"] == 1.0
    steps = [p["step"] for p in body["curve"]]
    assert steps == [0, 1024, 2048]
    first = body["curve"][0]["evaluation"]
    assert first["n_rounds"] == 150 and first["env"] == "sidebet_v1"
    assert first["oracle_value"] == pytest.approx(0.0312, abs=1e-3)  # fast_rug: bet at 200
    for key in ("pnl", "win_rate", "bets_per_round", "regret"):
        assert first[key] is None or first[key]["low"] <= first[key]["mean"] <= first[key]["high"]
    policy_id = body["policy_id"]
    assert job["result"]["policy_id"] == policy_id
    assert body["result"]["final"] == body["curve"][-1]["evaluation"]

    svg = client.get(body["curve_svg_url"], headers=auth)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<polyline" in svg.data and b"oracle" in svg.data

    listed = client.get("/v1/training/runs?state=succeeded", headers=auth).json["runs"]
    assert body["id"] in [r["id"] for r in listed]
    policies = client.get("/v1/policies?env=sidebet_v1", headers=auth).json["policies"]
    ids = [p["id"] for p in policies]
    assert policy_id in ids and "baseline:classic" in ids
    record = client.get(f"/v1/policies/{policy_id}", headers=auth).json
    assert record["run_id"] == body["id"] and record["mode"] == "fast_rug"

    # the stored network acts as the stored SB3 zip does, through the torch-free loader
    from stable_baselines3 import PPO

    database = app.extensions["agent"].backends.database
    policy = load_policy(policy_id, database=database)
    model = PPO.load(io.BytesIO(policy_store(database).model_zip(policy_id)), device="cpu")
    rounds = simulate_rounds(load_mode("fast_rug"), 20, 4)
    obs = round_observations(rounds.prices)[:, :40].reshape(-1, 15)
    obs = obs[np.isfinite(obs).all(axis=1)]
    import torch

    with torch.no_grad():
        tensor, _ = model.policy.obs_to_tensor(obs)
        probs = model.policy.get_distribution(tensor).distribution.probs.numpy()
    assert np.max(np.abs(policy.probabilities(obs) - probs)) < 1e-6

    # a warm start continues from that policy: its first point scores what the run ended on
    warm, _ = run(client, auth, TINY | {"warm_start": policy_id, "steps": 1024, "name": "warm"})
    assert warm["curve"][0]["evaluation"] == body["curve"][-1]["evaluation"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reward": {"terms": []}}, "reward"),
        ({"n_envs": 3}, "body"),
        ({"evaluation": {"seed": 3}}, "body"),
        ({"ppo": {"learning_rate": 5}}, "ppo.learning_rate"),
        ({"ppo": {"clip_obs": 3}}, "ppo.clip_obs"),
        ({"env": "poker"}, "env"),
        ({"scenarios": [{"scenario": {"mode": "classic", "rug_min": 4000}}]}, "scenarios"),
        ({"warm_start": "not-an-id"}, "warm_start"),
    ],
)
def test_bad_specs_are_422_naming_the_field(client, auth, change, field):
    r = client.post("/v1/training/runs", json=TINY | change, headers=auth)
    assert r.status_code == 422, r.json
    assert any(e["field"].startswith(field) for e in r.json["errors"]), r.json


def test_unknown_runs_and_policies_are_404(client, auth):
    missing = "00000000-0000-0000-0000-000000000001"
    assert client.get(f"/v1/training/runs/{missing}", headers=auth).status_code == 404
    assert client.get(f"/v1/training/runs/{missing}/curve.svg", headers=auth).status_code == 404
    assert client.get(f"/v1/policies/{missing}", headers=auth).status_code == 404
    assert client.get("/v1/policies/baseline:nope", headers=auth).status_code == 404
    r = client.post("/v1/training/runs", json=TINY | {"warm_start": missing}, headers=auth)
    assert r.status_code == 404


def test_the_web_app_loads_without_the_rl_extra():
    """gymnasium, stable-baselines3 and torch load only when a run starts."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"gymnasium", "stable_baselines3", "torch"}:
                    raise ImportError(f"blocked: {name}")

        sys.meta_path.insert(0, Block())
        import agent_service.app, agent_service.views.training, agent_service.views.curriculum
        from capabilities.engines.jobs.registry import load_handler_modules
        assert "capabilities.training.jobs" in load_handler_modules()
        from tools.policy_store import load_policy
        print(load_policy("baseline:classic").act([[0.0] * 15]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in {"[0]", "[1]"}  # one row of a batch: one action
