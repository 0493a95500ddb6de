"""The baseline RL bot, trained the way the bot's author trains it.

stable-baselines3 PPO, MlpPolicy, lr 3e-4, n_steps 2048, batch 64, gamma 0.99, on
`SidebetV1Env` with its training reward, on CPU; here over simulated rounds of a mode
instead of 943 recorded games. stable-baselines3 and torch are imported only when a
function here runs (the `rl` extra), so `game` stays light to import.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from game.envs import SidebetV1Env
from game.rules import GameRules

PPO_SETTINGS: dict[str, Any] = {
    "learning_rate": 3e-4,
    "n_steps": 2048,
    "batch_size": 64,
    "gamma": 0.99,
}


def train(rules: GameRules, steps: int, seed: int, path: str | Path, *, threads: int = 1) -> Path:
    """Train PPO for `steps` env steps on rounds of `seed`; save the model to `path`
    (SB3 zip) and its training facts beside it (`<path>.json`); return the zip's path."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(threads)
    path = Path(path).with_suffix(".zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    env = SidebetV1Env(rules, seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **PPO_SETTINGS)
    started = time.perf_counter()
    model.learn(total_timesteps=steps)
    seconds = time.perf_counter() - started
    model.save(path)
    facts = {
        "mode": rules.name,
        "steps": steps,
        "seed": seed,
        "train_seconds": round(seconds, 1),
        "ppo": PPO_SETTINGS,
    }
    path.with_suffix(".json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    export_network(path)
    return path


class PPOPolicy:
    """A trained PPO model as a `Policy`: argmax action, with its probabilities."""

    def __init__(self, model: Any, name: str) -> None:
        self.model = model
        self.name = name

    def reset(self) -> None:
        """Stateless (an MLP on the current observation)."""

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray:
        return self.probabilities_batch(np.asarray(obs)[None, :])[0]

    def act(self, obs: np.ndarray) -> int:
        return int(np.argmax(self.action_probabilities(obs)))

    def probabilities_batch(self, obs: np.ndarray) -> np.ndarray:
        import torch

        policy = self.model.policy
        with torch.no_grad():
            tensor, _ = policy.obs_to_tensor(np.asarray(obs, dtype=np.float32))
            probs = policy.get_distribution(tensor).distribution.probs
        return probs.cpu().numpy().astype(np.float64)

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        return np.argmax(self.probabilities_batch(obs), axis=1)


def export_network(path: str | Path) -> Path:
    """Write the numpy export of a saved model's network beside it (`<path>.npz`), the
    form in which the service loads policies without torch (`game.policy_net`)."""
    from stable_baselines3 import PPO

    from game.policy_net import from_sb3

    path = Path(path)
    out = path.with_suffix(".npz")
    out.write_bytes(from_sb3(PPO.load(path, device="cpu")).to_bytes())
    return out


def baseline_path(mode: str) -> Path | None:
    """The committed PPO baseline of `mode` (`game/baselines/<mode>.zip`), if any."""
    path = Path(str(resources.files("game") / "baselines" / f"{mode}.zip"))
    return path if path.is_file() else None


def load_policy(path: str | Path, *, name: str | None = None) -> PPOPolicy:
    """Load a model saved by `train` as a deterministic policy."""
    from stable_baselines3 import PPO

    path = Path(path)
    model = PPO.load(path, device="cpu")
    return PPOPolicy(model, name or f"ppo:{path.stem}")
