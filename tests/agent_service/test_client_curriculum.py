"""The bot's curriculum callback: importable with requests and gymnasium alone, and it
reconfigures a training loop's envs from the service's answers."""

from __future__ import annotations

import pytest

from tests.support.isolation import run_without


def test_the_callback_imports_with_only_requests_and_gymnasium():
    done = run_without(
        """
        import gymnasium, requests
        from agent_service.client import AgentClient
        from agent_service.client.curriculum import CurriculumCallback
        CurriculumCallback(AgentClient("http://127.0.0.1:9", api_key="k"), mode="classic")
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


SCENARIOS = [
    {"mode": "rising_hazard", "start_tick": 200},
    {"mode": "rising_hazard", "start_tick": 150, "rug_min": 201},
    {"mode": "rising_hazard"},
]


def test_the_callback_drives_a_ppo_run_through_the_service(client, auth):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from agent_service.client.curriculum import CurriculumCallback
    from game.rules import load_mode
    from game.vec_env import make_vec_env

    asked = []

    def ask(body):
        asked.append(body)
        r = client.post("/v1/curriculum/next", json=body, headers=auth)
        assert r.status_code == 200, r.json
        return r.json

    env = make_vec_env("sidebet_v1", load_mode("rising_hazard"), 8, seed=0)
    curriculum = CurriculumCallback(
        mode="rising_hazard",
        every_episodes=3,
        ask=ask,
        request={"count": 4, "stale_share": 0.3, "scenarios": SCENARIOS},
    )
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=512, n_epochs=1, seed=0, device="cpu")
    model.learn(2048, callback=curriculum)
    assert curriculum.updates >= 3
    assert asked[0]["results"] == []  # the cold start, before any episode
    later = asked[-1]["results"]
    assert later and all(len(r["bet_ticks"]) >= 1 for r in later)
    assert len({r["step"] for r in later}) >= 2  # a history: the service can see a trend
    offered = {s["id"] for s in curriculum.last_answer["scenarios"]}
    playing = {s.id for s in env.get_attr("scenario") if s is not None}
    assert playing and playing <= offered


def test_a_service_that_fails_leaves_the_envs_as_they_are():
    from agent_service.client.curriculum import CurriculumCallback

    def down(body):
        raise ConnectionError("down")

    class Env:
        num_envs = 2

        def env_method(self, *args, **kwargs):
            raise AssertionError("must not be reconfigured")

    curriculum = CurriculumCallback(mode="classic", ask=down, every_episodes=1)
    curriculum.update(Env(), 0)
    assert curriculum.updates == 0
