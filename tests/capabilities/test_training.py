"""train(): scenario mixes, the reward hook, warm starts from bytes."""

from __future__ import annotations

import pytest

pytest.importorskip("stable_baselines3")

from capabilities.training import rewards
from capabilities.training.models import TrainingSpec
from capabilities.training.service import share_envs, train

TINY = {
    "mode": "rising_hazard",
    "steps": 1024,
    "n_envs": 4,
    "ppo": {"n_steps": 256, "batch_size": 256, "n_epochs": 1},
    "evaluation": {"every_steps": 1024, "rounds": 60},
}


def test_envs_are_shared_out_by_weight():
    assert share_envs([1, 1], 4) == [0, 0, 1, 1]
    assert share_envs([3, 1], 8) == [0] * 6 + [1] * 2
    assert sorted(set(share_envs([100, 1, 1], 4))) == [0, 1, 2]  # each at least one env


def test_a_scenario_mix_trains_and_is_recorded_in_the_facts():
    mix = [
        {"scenario": {"mode": "rising_hazard", "start_tick": 200}, "weight": 3},
        {"scenario": {"mode": "rising_hazard", "rug_min": 201, "rug_max": 280}},
    ]
    result = train(TrainingSpec(**TINY, scenarios=mix), seed=5)
    assert result.facts["seed"] == 5 and result.steps == 1024
    assert result.facts["scenarios"] == [
        "rising_hazard|h1|v1|s200|r1-",
        "rising_hazard|h1|v1|s0|r201-280",
    ]
    assert [p.step for p in result.curve] == [0, 1024]
    assert result.final.scenario == "rising_hazard|h1|v1|s0|r1-"  # scored on the target


def test_a_reward_spec_goes_through_the_registered_wrapper(monkeypatch):
    from stable_baselines3.common.vec_env import VecEnvWrapper

    seen = []

    class Zero(VecEnvWrapper):
        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            obs, reward, done, infos = self.venv.step_wait()
            seen.append(float(abs(reward).sum()))
            return obs, reward * 0, done, infos

    def validate(spec):
        if spec.get("kind") != "zero":
            raise ValueError("only the zero reward here")

    monkeypatch.setattr(rewards, "_hook", (lambda env, spec: Zero(env), validate))
    with pytest.raises(ValueError, match="only the zero reward"):
        TrainingSpec(**TINY, reward={"kind": "other"})
    result = train(TrainingSpec(**TINY, reward={"kind": "zero"}))
    assert len(seen) == 1024 // 4 and sum(seen) > 0  # the env's rewards passed through it
    assert result.facts["reward"] == {"kind": "zero"}


def test_a_reward_that_is_no_reward_spec_is_refused_naming_the_field():
    """The reward hook of capabilities.rewards takes declarative specs only."""
    with pytest.raises(ValueError, match="kind: Extra inputs are not permitted"):
        TrainingSpec(**TINY, reward={"kind": "zero"})


def test_a_warm_start_continues_from_the_given_weights():
    first = train(TrainingSpec(**TINY))
    again = train(TrainingSpec(**TINY), warm_start=first.model_zip())
    assert again.curve[0].evaluation == first.curve[-1].evaluation
    wider = TrainingSpec(**TINY | {"ppo": TINY["ppo"] | {"net_arch": {"pi": [32], "vf": [32]}}})
    with pytest.raises(ValueError, match="warm_start"):
        train(wider, warm_start=first.model_zip())


def test_the_engines_train_the_same_spec_and_say_which_ran():
    numpy_run = train(TrainingSpec(**TINY))
    sb3_run = train(TrainingSpec(**TINY, engine="sb3"))
    assert numpy_run.facts["engine"] == "numpy" and sb3_run.facts["engine"] == "sb3"
    for result in (numpy_run, sb3_run):
        assert result.steps == 1024 and [p.step for p in result.curve] == [0, 1024]
    assert "torch_threads" not in numpy_run.facts


def test_a_numpy_runs_zip_is_an_sb3_model_acting_as_its_network():
    """SB3's own `PPO.load` reads the zip of a numpy run; its greedy actions and action
    probabilities are the stored network's on held-out observations, and the service's
    torch-free zip reader gets the network back exactly."""
    import io

    import numpy as np
    import torch
    from stable_baselines3 import PPO

    from game.evaluation import SidebetHeldOut
    from game.sb3_zip import read_sb3_zip
    from game.scenarios import Scenario

    spec = TrainingSpec(**TINY | {"ppo": {"n_steps": 256, "batch_size": 64, "n_epochs": 2}})
    result = train(spec)
    data = result.model_zip()
    model = PPO.load(io.BytesIO(data), device="cpu")
    obs = SidebetHeldOut(Scenario(mode="rising_hazard"), 40, 7).obs
    actions, _ = model.predict(obs, deterministic=True)
    net = result.network
    assert np.array_equal(actions, np.argmax(net.logits(obs), axis=1))
    with torch.no_grad():
        dist = model.policy.get_distribution(torch.as_tensor(obs))
        probs = dist.distribution.probs.numpy()
    np.testing.assert_allclose(probs, net.probabilities(obs), atol=1e-6)
    assert model.learning_rate == 3e-4 and model.n_epochs == 2
    again = read_sb3_zip(data)
    for mine, theirs in zip(
        (*net.policy_layers, net.action_head, *net.value_layers, net.value_head),
        (*again.policy_layers, again.action_head, *again.value_layers, again.value_head),
        strict=True,
    ):
        assert np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])
