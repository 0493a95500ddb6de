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
