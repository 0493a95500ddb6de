from __future__ import annotations

import json

import numpy as np
import pytest

from game.bots import Policy
from game.envs import SidebetV1Env
from game.harness import run_ab
from game.oracle import Oracle
from game.rules import available_modes, load_mode


@pytest.mark.slow
def test_tiny_ppo_training_saves_loads_and_acts(tmp_path):
    from game.rl_baseline import PPO_SETTINGS, load_policy, train

    rules = load_mode("profit_payout")
    path = train(rules, steps=2048, seed=3, path=tmp_path / "tiny")
    assert path == tmp_path / "tiny.zip" and path.is_file()
    facts = json.loads(path.with_suffix(".json").read_text())
    assert facts["steps"] == 2048 and facts["mode"] == "profit_payout"
    assert (
        facts["ppo"]
        == PPO_SETTINGS
        == {
            "learning_rate": 3e-4,
            "n_steps": 2048,
            "batch_size": 64,
            "gamma": 0.99,
        }
    )

    policy = load_policy(path)
    assert isinstance(policy, Policy)
    env = SidebetV1Env(rules, seed=5)
    obs, _ = env.reset()
    rows = [obs]
    for _ in range(300):
        probs = policy.action_probabilities(obs)
        assert probs.shape == (2,) and probs.sum() == pytest.approx(1.0)
        assert policy.act(obs) == int(np.argmax(probs))
        obs, _, terminated, _, _ = env.step(policy.act(obs))
        rows.append(obs)
        if terminated:
            obs, _ = env.reset()
    rows = np.array(rows)
    assert np.array_equal(policy.act_batch(rows), [policy.act(o) for o in rows])
    # a reload acts identically
    again = load_policy(path)
    assert np.allclose(again.probabilities_batch(rows), policy.probabilities_batch(rows))
    report = run_ab([policy, Oracle(rules)], rules, n_rounds=300, seed=8)
    assert set(report.policies) == {policy.name, "oracle"}


@pytest.mark.slow
@pytest.mark.parametrize("mode", available_modes())
def test_committed_baseline_loads_and_the_oracle_is_at_least_as_good(mode):
    from game.rl_baseline import baseline_path, load_policy

    path = baseline_path(mode)
    if path is None:
        pytest.skip(f"no committed baseline for {mode}")
    facts = json.loads(path.with_suffix(".json").read_text())
    assert facts["mode"] == mode and facts["steps"] > 0 and "score" in facts
    rules = load_mode(mode)
    report = run_ab([load_policy(path, name="ppo"), Oracle(rules)], rules, n_rounds=3000, seed=77)
    oracle, ppo = report.policies["oracle"], report.policies["ppo"]
    assert oracle.expected_pnl >= ppo.expected_pnl - 1e-12
    assert report.pair("oracle", "ppo").ci95[1] >= 0.0
