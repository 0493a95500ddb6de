"""The vectorized envs equal the step envs bit for bit, and SB3 accepts them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3.common.vec_env import DummyVecEnv

from game.envs import SidebetV1Env, TradingEnv
from game.rules import load_mode
from game.scenarios import Scenario
from game.vec_env import make_vec_env

STEP_ENVS = {"sidebet_v1": SidebetV1Env, "trading": TradingEnv}
LATE = Scenario(
    mode="rising_hazard", hazard_scale=1.5, volatility_scale=2.0, start_tick=150, rug_min=201
)


def lockstep(kind, rules, *, n=6, seed=3, steps=2000, scenario=None, switch_to=None, also=None):
    """Step a DummyVecEnv of step envs and the vectorized env with the same random
    actions; assert equal observations, rewards, dones and terminal infos. Returns the
    number of finished episodes."""
    cls = STEP_ENVS[kind]
    ref = DummyVecEnv([lambda i=i: cls(rules, seed=seed + i, scenario=scenario) for i in range(n)])
    vec = make_vec_env(kind, rules, n, seed, scenario=scenario)
    rng = np.random.default_rng(seed)
    assert np.array_equal(ref.reset(), vec.reset())
    episodes = 0
    for t in range(steps):
        if switch_to is not None and t == steps // 2:
            for env in (ref, vec):
                env.env_method("set_scenario", switch_to.model_dump(), indices=[0, 2])
                if also is not None:  # another scenario at once (maybe the same rules)
                    env.env_method("set_scenario", also.model_dump(), indices=[1, 3])
        if kind == "sidebet_v1":
            actions = (rng.random(n) < 0.05).astype(np.int64)
        else:
            actions = rng.integers(0, ref.action_space.n, n)
        o1, r1, d1, i1 = ref.step(actions)
        o2, r2, d2, i2 = vec.step(actions)
        assert np.array_equal(d1, d2), t
        assert np.array_equal(r1, r2), t
        assert np.array_equal(o1, o2), t
        for i in np.flatnonzero(d1):
            episodes += 1
            assert np.array_equal(i1[i]["terminal_observation"], i2[i]["terminal_observation"])
            for key in ("pnl", "rug_tick", "round_index", "bet_tick", "bet_won", "scenario"):
                assert i1[i].get(key) == i2[i].get(key), (t, key)
            assert i2[i]["TimeLimit.truncated"] is False
    return episodes


@pytest.mark.parametrize("kind", ["sidebet_v1", "trading"])
@pytest.mark.parametrize("mode", ["classic", "rising_hazard"])
def test_vectorized_env_equals_the_step_env_over_many_episodes(kind, mode):
    assert lockstep(kind, load_mode(mode)) > 50


@pytest.mark.parametrize("kind", ["sidebet_v1", "trading"])
def test_equal_under_a_scenario_and_after_switching_scenarios(kind):
    assert lockstep(kind, LATE.rules, scenario=LATE, steps=1500) > 50
    classic = load_mode("classic")
    assert lockstep(kind, classic, switch_to=LATE, steps=2000) > 40


def test_equal_when_scenarios_of_the_same_rules_share_a_simulation():
    """Scenarios differing only in the rounds kept and the first tick are simulated
    together; each env still plays exactly its own rounds."""
    decided = LATE.model_copy(update={"start_tick": 200, "rug_max": 280})
    classic = load_mode("classic")
    assert lockstep("sidebet_v1", classic, switch_to=LATE, also=decided, steps=3000) > 40


def test_seeding_follows_sb3_env_i_gets_seed_plus_i():
    rules = load_mode("classic")
    vec = make_vec_env("sidebet_v1", rules, 3, seed=0)
    vec.seed(100)
    obs = vec.reset()
    for i in range(3):
        env = SidebetV1Env(rules, seed=100 + i)
        assert np.array_equal(env.reset()[0], obs[i])
    infos = []
    while not infos:
        _, _, done, step_infos = vec.step(np.zeros(3, dtype=np.int64))
        infos = [step_infos[i] for i in np.flatnonzero(done)]
    assert infos[0]["round_index"] == 0


def test_a_scenario_starts_late_and_keeps_only_its_rounds():
    vec = make_vec_env("sidebet_v1", LATE.rules, 4, seed=9, scenario=LATE)
    obs = vec.reset()
    assert np.all(obs[:, 0] == 150)
    rugs, scenarios = [], set()
    for _ in range(1500):
        _, _, done, infos = vec.step(np.zeros(4, dtype=np.int64))
        for i in np.flatnonzero(done):
            rugs.append(infos[i]["rug_tick"])
            scenarios.add(infos[i]["scenario"])
    assert min(rugs) >= 201 and scenarios == {LATE.id}
    assert vec.get_attr("scenario") == [LATE] * 4


def test_ppo_trains_on_the_vectorized_env():
    from stable_baselines3 import PPO

    vec = make_vec_env("sidebet_v1", load_mode("fast_rug"), 8, seed=0)
    model = PPO("MlpPolicy", vec, n_steps=64, batch_size=128, n_epochs=1, seed=0, device="cpu")
    model.learn(1024)
    assert model.num_timesteps == 1024
