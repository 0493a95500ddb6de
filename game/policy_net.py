"""A trained SB3 `MlpPolicy` as plain numpy: inference without torch.

Web and tournament workers load policies often and must stay light, so a policy is
stored twice: the SB3 zip (to resume training) and this export of its actor-critic
network (`PolicyNet.to_bytes()`, an `.npz` of float32 arrays and a JSON header, no
pickles). The forward pass is SB3's: observations (normalized first when the policy was
trained under `VecNormalize`), the policy MLP (Linear + activation per hidden layer),
the action head's logits, their softmax; the value head likewise. It equals torch's
output to float32 rounding (a test holds it within 1e-6).

`from_sb3(model)` needs torch (it reads the model's weights); nothing else here does.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMAT = "vectra-policy-net/1"
_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}
Layer = tuple[np.ndarray, np.ndarray]  # (weight [out, in], bias [out]), as torch stores them


@dataclass(frozen=True)
class ObsNormalization:
    """`VecNormalize`'s observation transform: clip((obs - mean) / sqrt(var + eps))."""

    mean: np.ndarray
    var: np.ndarray
    epsilon: float = 1e-8
    clip: float = 10.0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        scaled = (obs - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)


@dataclass(frozen=True)
class PolicyNet:
    """The actor-critic MLP of an SB3 policy with a discrete action space."""

    policy_layers: tuple[Layer, ...]
    action_head: Layer
    value_layers: tuple[Layer, ...]
    value_head: Layer
    activation: str = "tanh"
    normalization: ObsNormalization | None = None

    @property
    def obs_dim(self) -> int:
        first = self.policy_layers[0] if self.policy_layers else self.action_head
        return int(first[0].shape[1])

    @property
    def n_actions(self) -> int:
        return int(self.action_head[0].shape[0])

    def _hidden(self, obs: np.ndarray, layers: tuple[Layer, ...]) -> np.ndarray:
        act = _ACTIVATIONS[self.activation]
        x = obs
        for weight, bias in layers:
            x = act(x @ weight.T + bias)
        return x

    def _input(self, observations: np.ndarray) -> np.ndarray:
        obs = np.atleast_2d(np.asarray(observations, dtype=np.float32))
        if obs.shape[1] != self.obs_dim:
            raise ValueError(f"observations must have {self.obs_dim} columns, got {obs.shape[1]}")
        return self.normalization(obs) if self.normalization is not None else obs

    def logits(self, observations: np.ndarray) -> np.ndarray:
        weight, bias = self.action_head
        return self._hidden(self._input(observations), self.policy_layers) @ weight.T + bias

    def probabilities(self, observations: np.ndarray) -> np.ndarray:
        """Action probabilities, one row per observation (float64, rows sum to 1)."""
        z = self.logits(observations).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def values(self, observations: np.ndarray) -> np.ndarray:
        weight, bias = self.value_head
        return (self._hidden(self._input(observations), self.value_layers) @ weight.T + bias)[:, 0]

    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        for prefix, layers in (("pi", self.policy_layers), ("vf", self.value_layers)):
            for i, (w, b) in enumerate(layers):
                arrays[f"{prefix}{i}_w"], arrays[f"{prefix}{i}_b"] = w, b
        arrays["action_w"], arrays["action_b"] = self.action_head
        arrays["value_w"], arrays["value_b"] = self.value_head
        header: dict[str, Any] = {
            "format": FORMAT,
            "activation": self.activation,
            "policy_layers": len(self.policy_layers),
            "value_layers": len(self.value_layers),
        }
        if self.normalization is not None:
            arrays["obs_mean"], arrays["obs_var"] = self.normalization.mean, self.normalization.var
            header["obs_epsilon"] = self.normalization.epsilon
            header["obs_clip"] = self.normalization.clip
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        out = io.BytesIO()
        np.savez_compressed(out, **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PolicyNet:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes())
            if header.get("format") != FORMAT:
                raise ValueError(f"not a policy network export ({header.get('format')!r})")
            arrays = {k: npz[k] for k in npz.files}

        def layers(prefix: str, n: int) -> tuple[Layer, ...]:
            return tuple((arrays[f"{prefix}{i}_w"], arrays[f"{prefix}{i}_b"]) for i in range(n))

        norm = None
        if "obs_mean" in arrays:
            norm = ObsNormalization(
                arrays["obs_mean"], arrays["obs_var"], header["obs_epsilon"], header["obs_clip"]
            )
        return cls(
            policy_layers=layers("pi", header["policy_layers"]),
            action_head=(arrays["action_w"], arrays["action_b"]),
            value_layers=layers("vf", header["value_layers"]),
            value_head=(arrays["value_w"], arrays["value_b"]),
            activation=header["activation"],
            normalization=norm,
        )


def from_sb3(model: Any, normalization: ObsNormalization | None = None) -> PolicyNet:
    """Export an SB3 PPO model's `MlpPolicy` (discrete actions, Tanh or ReLU)."""
    import torch

    policy = model.policy
    extractor = policy.mlp_extractor

    def linear_layers(seq: torch.nn.Sequential) -> tuple[Layer, ...]:
        return tuple(_layer(m) for m in seq if isinstance(m, torch.nn.Linear))

    activations = {type(m).__name__ for m in extractor.modules()} & {"Tanh", "ReLU"}
    if len(activations) != 1:
        raise ValueError(f"unsupported activation(s) {activations or 'none'}: Tanh or ReLU only")
    if not hasattr(policy, "action_net") or not isinstance(policy.action_net, torch.nn.Linear):
        raise ValueError("only discrete-action MlpPolicy networks can be exported")
    return PolicyNet(
        policy_layers=linear_layers(extractor.policy_net),
        action_head=_layer(policy.action_net),
        value_layers=linear_layers(extractor.value_net),
        value_head=_layer(policy.value_net),
        activation=activations.pop().lower(),
        normalization=normalization,
    )


def _layer(module: Any) -> Layer:
    weight = module.weight.detach().cpu().numpy().astype(np.float32)
    bias = module.bias.detach().cpu().numpy().astype(np.float32)
    return weight, bias


class NetPolicy:
    """A `PolicyNet` as a policy: deterministic argmax actions and their probabilities.

    `act` takes a batch (`[n, obs_dim]` -> `[n]` actions) or one observation (-> int), so
    the same object serves batched evaluation and the step-by-step `Policy` protocol of
    `game.bots` (`act_batch`, `action_probabilities`, `reset`)."""

    def __init__(self, net: PolicyNet, name: str) -> None:
        self.net, self.name = net, name

    def probabilities(self, observations: np.ndarray) -> np.ndarray:
        return self.net.probabilities(observations)

    def act(self, observations: np.ndarray) -> Any:
        obs = np.asarray(observations)
        actions = np.argmax(self.net.logits(obs), axis=1)
        return int(actions[0]) if obs.ndim == 1 else actions

    def act_batch(self, observations: np.ndarray) -> np.ndarray:
        return np.argmax(self.net.logits(observations), axis=1)

    def probabilities_batch(self, observations: np.ndarray) -> np.ndarray:
        return self.net.probabilities(observations)

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray:
        return self.net.probabilities(np.asarray(obs)[None, :])[0]

    def reset(self) -> None:
        """Stateless: an MLP on the current observation."""
