"""The bot's SpecReward wrapper: importable with gymnasium alone, and it pays exactly what
the service's training wrapper pays for the same episodes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.isolation import run_without


def test_the_wrapper_imports_with_only_gymnasium():
    done = run_without(
        """
        import gymnasium
        from agent_service.client.rewards import SpecReward
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


SPECS = [
    None,  # the bot's reward
    {"terminal": {"win": 0, "loss": 0}, "paid_expected_value": 1.0,
     "shaping": {"gamma": 0.99}},
    {"terminal": {"win": 4, "loss": -1, "settle": "decided"}, "shaping": {"gamma": 1.0},
     "steps": [{"name": "patience", "reward": 0.01, "action": "hold",
                "when": [{"field": "bet_allowed", "op": "==", "value": 1},
                         {"field": "can_place", "op": "==", "value": 1}]},
               {"name": "momentum", "reward": -0.02, "action": "bet",
                "when": [{"field": "momentum_5", "op": "<", "value": 0}]}]},
]  # fmt: skip


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("mode", ["rising_hazard", "fast_rug"])
def test_the_client_pays_what_the_training_wrapper_pays(spec, mode):
    pytest.importorskip("stable_baselines3")
    from agent_service.client.rewards import SpecReward
    from capabilities.rewards.hook import wrap
    from game.envs import SidebetV1Env
    from game.reward_spec import BOT_REWARD, RewardTables
    from game.rules import load_mode
    from game.vec_env import make_vec_env

    spec = spec or BOT_REWARD
    rules = load_mode(mode)
    tables = RewardTables.of(rules).to_json()
    vec = wrap(make_vec_env("sidebet_v1", rules, 1, 5), spec)
    step_env = SpecReward(SidebetV1Env(rules, seed=5), spec, tables)
    vec.reset()
    step_env.reset()
    rng = np.random.default_rng(1)
    episodes = 0
    while episodes < 25:
        action = int(rng.random() < 0.03)
        _, paid_vec, done, infos = vec.step(np.array([action]))
        _, paid, terminated, _, info = step_env.step(action)
        assert paid == pytest.approx(float(paid_vec[0]), abs=1e-5)
        assert bool(done[0]) == terminated
        if terminated:
            assert info["env_reward"] == infos[0]["env_reward"]
            step_env.reset()
            episodes += 1
