"""The numpy policy network reproduces SB3's MlpPolicy (torch) within 1e-6."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

import torch
from stable_baselines3 import PPO

from game.envs import SidebetV1Env, TradingEnv
from game.harness import run_ab
from game.observation import round_observations
from game.policy_net import NetPolicy, ObsNormalization, PolicyNet, from_sb3
from game.rl_baseline import baseline_path, load_policy
from game.rules import load_mode
from game.simulator import simulate_rounds


def observations(n_rounds=40, seed=5) -> np.ndarray:
    rounds = simulate_rounds(load_mode("classic"), n_rounds, seed)
    obs = round_observations(rounds.prices)
    alive = np.arange(obs.shape[1])[None, :] < rounds.rug_tick[:, None]
    return obs[alive]


def torch_outputs(model, obs):
    with torch.no_grad():
        tensor, _ = model.policy.obs_to_tensor(obs)
        dist = model.policy.get_distribution(tensor)
        values = model.policy.predict_values(tensor)
    return dist.distribution.probs.numpy(), dist.distribution.logits.numpy(), values.numpy()[:, 0]


@pytest.mark.parametrize("mode", ["classic", "rising_hazard"])
def test_the_shipped_baselines_export_equals_torch_within_1e_6(mode):
    path = baseline_path(mode)
    model = PPO.load(path, device="cpu")
    net = PolicyNet.from_bytes(path.with_suffix(".npz").read_bytes())  # the committed export
    obs = observations()
    probs, _, values = torch_outputs(model, obs)
    assert np.max(np.abs(net.probabilities(obs) - probs)) < 1e-6
    assert np.max(np.abs(net.values(obs) - values)) < 1e-4 * max(1.0, np.abs(values).max())
    torch_policy = load_policy(path)
    assert np.array_equal(NetPolicy(net, "np").act_batch(obs), torch_policy.act_batch(obs))


def test_relu_custom_architecture_and_normalization_round_trip():
    env = TradingEnv(load_mode("classic"))
    kwargs = {"net_arch": {"pi": [32, 16, 8], "vf": [16]}, "activation_fn": torch.nn.ReLU}
    model = PPO("MlpPolicy", env, policy_kwargs=kwargs, n_steps=64, batch_size=32, seed=1)
    net = PolicyNet.from_bytes(from_sb3(model).to_bytes())
    assert net.activation == "relu" and len(net.policy_layers) == 3 and net.n_actions == 7
    obs = np.random.default_rng(0).normal(size=(500, 19)).astype(np.float32)
    probs, logits, _ = torch_outputs(model, obs)
    assert np.max(np.abs(net.probabilities(obs) - probs)) < 1e-6
    log_probs = net.logits(obs) - np.log(np.exp(net.logits(obs)).sum(axis=1, keepdims=True))
    assert np.max(np.abs(log_probs - logits)) < 1e-5  # torch keeps normalized logits

    norm = ObsNormalization(mean=obs.mean(axis=0), var=obs.var(axis=0) + 1.0, clip=5.0)
    normalized = PolicyNet.from_bytes(from_sb3(model, norm).to_bytes())
    expected, _, _ = torch_outputs(model, norm(obs))
    assert np.max(np.abs(normalized.probabilities(obs) - expected)) < 1e-6


def test_net_policy_acts_in_batches_and_one_at_a_time():
    model = PPO("MlpPolicy", SidebetV1Env(load_mode("classic")), n_steps=64, batch_size=32)
    policy = NetPolicy(from_sb3(model), "np")
    obs = observations(5)
    batch = policy.act(obs)
    assert batch.shape == (len(obs),) and set(np.unique(batch)) <= {0, 1}
    assert [policy.act(o) for o in obs[:20]] == list(batch[:20])
    assert np.allclose(policy.probabilities(obs).sum(axis=1), 1.0)
    report = run_ab([policy], load_mode("classic"), n_rounds=200, seed=3)  # the harness path
    assert report.policies["np"].n_rounds == 200


def test_a_foreign_file_is_refused():
    with pytest.raises(ValueError):
        PolicyNet.from_bytes(_npz(header=np.frombuffer(b'{"format": "x"}', dtype=np.uint8)))


def _npz(**arrays) -> bytes:
    import io

    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()
