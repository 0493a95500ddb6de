"""The numpy PPO (`game.ppo`): its gradient against finite differences and against
stable-baselines3's own loss under torch autograd, learning, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from game.batch_envs import SidebetBatch
from game.ppo import PPO, BatchVecEnv, PPOConfig
from game.ppo.net import ActorCritic, Adam, normalized_advantages
from game.rules import load_mode

LOSS = {"clip_range": 0.2, "ent_coef": 0.01, "vf_coef": 0.5}


def minibatch(rng: np.random.Generator, net: ActorCritic, n: int = 32) -> tuple:
    """Observations, actions, old log-probabilities a little off the current ones (so
    some ratios leave the clip range), advantages and returns."""
    obs = rng.standard_normal((n, net.obs_dim))
    log_p, _ = net.heads(obs)
    actions = rng.integers(0, net.n_actions, n)
    old = log_p[np.arange(n), actions] + rng.normal(0, 0.3, n)
    return obs, actions, old, normalized_advantages(rng.standard_normal(n)), rng.normal(0, 2, n)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_gradient_matches_finite_differences(activation: str) -> None:
    rng = np.random.default_rng(3)
    net = ActorCritic(5, 3, (8, 6), (7,), activation, rng, dtype=np.float64)
    net.params += rng.normal(0, 0.3, net.params.shape)  # off the tiny initial action head
    batch = minibatch(rng, net)
    net.loss_and_grad(*batch, **LOSS)
    analytic = net.grad.copy()
    numeric = np.empty_like(analytic)
    for i in range(len(net.params)):
        keep = net.params[i]
        net.params[i] = keep + 1e-6
        up = net.loss_and_grad(*batch, **LOSS)[0]
        net.params[i] = keep - 1e-6
        down = net.loss_and_grad(*batch, **LOSS)[0]
        net.params[i] = keep
        numeric[i] = (up - down) / 2e-6
    assert np.abs(analytic).max() > 1e-3
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-7)


def test_loss_and_gradient_equal_stable_baselines3s() -> None:
    """The same weights and minibatch through SB3's `evaluate_actions` and the loss of
    `PPO.train`, differentiated by torch: the same loss and gradient (float32)."""
    torch = pytest.importorskip("torch")
    from gymnasium import spaces
    from stable_baselines3.common.policies import ActorCriticPolicy

    rng = np.random.default_rng(5)
    net = ActorCritic(15, 2, rng=rng, dtype=np.float64)
    net.params += rng.normal(0, 0.2, net.params.shape)
    obs, actions, old, advantages, returns = minibatch(rng, net, 64)
    raw_advantages = rng.standard_normal(64) * 3 + 1
    advantages = normalized_advantages(raw_advantages)
    loss, _ = net.loss_and_grad(obs, actions, old, advantages, returns, **LOSS)

    policy = ActorCriticPolicy(
        spaces.Box(-np.inf, np.inf, (15,), np.float32), spaces.Discrete(2), lambda _: 3e-4
    )
    exported = net.policy_net()
    names = [f"mlp_extractor.policy_net.{2 * i}" for i in range(2)] + ["action_net"]
    names += [f"mlp_extractor.value_net.{2 * i}" for i in range(2)] + ["value_net"]
    layers = [*exported.policy_layers, exported.action_head]
    layers += [*exported.value_layers, exported.value_head]
    state = {}
    for name, (w, b) in zip(names, layers, strict=True):
        state[f"{name}.weight"], state[f"{name}.bias"] = torch.tensor(w), torch.tensor(b)
    policy.load_state_dict(state)
    values, log_prob, entropy = policy.evaluate_actions(
        torch.tensor(obs, dtype=torch.float32), torch.tensor(actions)
    )
    adv = torch.tensor(raw_advantages, dtype=torch.float32)
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    ratio = torch.exp(log_prob - torch.tensor(old, dtype=torch.float32))
    surrogate = -torch.min(adv * ratio, adv * torch.clamp(ratio, 0.8, 1.2)).mean()
    value_loss = torch.nn.functional.mse_loss(
        torch.tensor(returns, dtype=torch.float32), values.flatten()
    )
    sb3_loss = surrogate - LOSS["ent_coef"] * entropy.mean() + LOSS["vf_coef"] * value_loss
    sb3_loss.backward()
    assert sb3_loss.item() == pytest.approx(loss, rel=1e-4)
    pi_layers, action, vf_layers, value = net.g
    ours = [*pi_layers, action, *vf_layers, value]
    for name, (gw, gb) in zip(names, ours, strict=True):
        module = policy.get_submodule(name)
        np.testing.assert_allclose(module.weight.grad.numpy(), gw, rtol=2e-3, atol=2e-6)
        np.testing.assert_allclose(module.bias.grad.numpy(), gb, rtol=2e-3, atol=2e-6)


def test_adam_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start = rng.standard_normal(50)
    mine = start.copy()
    adam = Adam(mine, 1e-2)
    theirs = torch.tensor(start, requires_grad=True)
    reference = torch.optim.Adam([theirs], lr=1e-2, eps=1e-5)
    for _ in range(20):
        grad = rng.standard_normal(50)
        adam.step(grad)
        theirs.grad = torch.tensor(grad)
        reference.step()
    np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


class SignBandit:
    """One-step episodes: reward 1 for the action that matches the sign of the first
    feature, else 0. A uniformly random policy earns 0.5 a step."""

    obs_dim, n_actions = 3, 2

    def __init__(self, num_envs: int, seed: int) -> None:
        self.num_envs, self.rng = num_envs, np.random.default_rng(seed)
        self.obs = self.rng.standard_normal((num_envs, 3))

    def reset(self) -> np.ndarray:
        return self.obs

    def step(self, actions: np.ndarray) -> tuple:
        reward = (actions == (self.obs[:, 0] > 0)).astype(np.float32)
        self.obs = self.rng.standard_normal((self.num_envs, 3))
        return self.obs, reward, np.ones(self.num_envs, dtype=bool), [{}] * self.num_envs


def test_learns_a_bandit_far_above_random() -> None:
    """The bot's settings but a 512-step rollout, 16 rollouts: the greedy policy's hit
    rate on fixed held-out contexts (uniformly random: 0.5)."""
    model = PPO(SignBandit(8, 0), PPOConfig(n_steps=512), seed=0)
    held = np.random.default_rng(99).standard_normal((2000, 3))
    before = (np.argmax(model.policy_net().logits(held), axis=1) == (held[:, 0] > 0)).mean()
    model.learn(8192)
    after = (np.argmax(model.policy_net().logits(held), axis=1) == (held[:, 0] > 0)).mean()
    assert after > 0.9 and after - before > 0.1, (before, after)


def sidebet_model(seed: int, **config: object) -> PPO:
    env = BatchVecEnv(SidebetBatch(load_mode("rising_hazard"), 8, seed))
    return PPO(env, PPOConfig(n_steps=256, **config), seed=seed)


def test_improves_the_bots_reward_on_held_out_rounds() -> None:
    """PPO on the game: the mean training reward of the greedy policy on fixed seeds
    rises above the untrained (uniformly random) network's."""
    from game.evaluation import SidebetHeldOut
    from game.policy_net import NetPolicy
    from game.scenarios import Scenario
    from game.sidebets import training_reward

    rules = load_mode("rising_hazard")
    held = SidebetHeldOut(Scenario(mode="rising_hazard"), 1000, 1_000_000)

    def reward(model: PPO) -> float:
        bets = held.bet_ticks(NetPolicy(model.policy_net(), "trained"))
        return float(training_reward(rules, bets, held.rug).mean())

    gains = []
    for seed in range(2):
        model = sidebet_model(seed, learning_rate=1e-3)
        before = reward(model)
        model.learn(16_384)
        gains.append(reward(model) - before)
    assert min(gains) > 0.05, gains


def test_a_seed_gives_the_same_run_and_another_seed_another() -> None:
    first, again, other = sidebet_model(4), sidebet_model(4), sidebet_model(5)
    for model in (first, again, other):
        model.learn(512)
    assert np.array_equal(first.net.params, again.net.params)
    assert first.last_losses == again.last_losses
    assert not np.array_equal(first.net.params, other.net.params)


def test_normalization_is_exported_with_the_network() -> None:
    model = sidebet_model(1, normalize_observations=True, normalize_rewards=True)
    model.learn(512)
    net = model.policy_net()
    assert net.normalization is not None
    assert np.all(net.normalization.var > 0) and model.ret_rms is not None
    obs = model.env.reset()
    rms = model.obs_rms
    scaled = np.clip((obs - rms.mean) / np.sqrt(rms.var + 1e-8), -10, 10)
    expected = model.net.heads(scaled)[0]
    np.testing.assert_allclose(np.log(net.probabilities(obs)), expected, atol=1e-4)


def test_curriculum_callbacks_reconfigure_the_envs() -> None:
    """A plain (locals, globals) callable, as SB3 calls converted callbacks."""
    from game.scenarios import Scenario

    scenario = Scenario(mode="rising_hazard", start_tick=150)
    calls: list[int] = []
    ended: list[tuple[int, str | None]] = []

    def callback(locals_: dict, globals_: dict) -> bool:
        model = locals_["self"]
        if not calls:
            model.get_env().env_method("set_scenario", scenario, indices=[0, 1])
        calls.append(model.num_timesteps)
        for i in np.flatnonzero(locals_["dones"]):
            ended.append((int(i), locals_["infos"][i].get("scenario")))
        return len(calls) < 600

    model = sidebet_model(2)
    model.learn(100_000, callbacks=[callback])
    assert len(calls) == 600 and model.num_timesteps == 4800
    under = {i for i, sid in ended if sid == scenario.id}
    assert under == {0, 1} and {i for i, sid in ended if sid is None} >= set(range(2, 8))
