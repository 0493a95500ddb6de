"""SB3's `MlpPolicy` actor-critic in numpy, with its PPO loss's gradient written by hand.

Why: on a 64-unit MLP, torch spends far more time dispatching than computing, and PPO at
the bot's settings takes 320 minibatch steps per 2048-step rollout. Here every parameter
lives in one flat float64 vector (`params`, the layers are views into it) and so does
its gradient, so gradient-norm clipping and Adam are a few whole-vector operations.

The network is SB3's default for a discrete action space: separate policy and value
MLPs (`pi`, `vf` hidden sizes, Tanh or ReLU), a linear action head giving the logits of
a Categorical, a linear value head; orthogonal initialization with SB3's gains (sqrt 2
for hidden layers, 0.01 for the action head, 1 for the value head), zero biases. The
loss is SB3 PPO's: clipped surrogate on per-minibatch normalized advantages (std with
ddof 1, as torch's), mean squared error to the GAE returns, minus the mean entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from game.policy_net import Layer, ObsNormalization, PolicyNet

Views = tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray],
              list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]  # fmt: skip
"""(policy layers, action head, value layers, value head) as (weight, bias) views."""


def orthogonal(rng: np.random.Generator, rows: int, cols: int, gain: float) -> np.ndarray:
    """torch's `orthogonal_`: the Q of a Gaussian matrix, signs fixed by R's diagonal."""
    flat = rng.standard_normal((rows, cols) if rows >= cols else (cols, rows))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    return gain * (q if rows >= cols else q.T)


@dataclass
class LossParts:
    """The terms of one minibatch's loss (what SB3 logs)."""

    policy: float
    value: float
    entropy: float
    clip_fraction: float


class ActorCritic:
    """The policy and value MLPs over one flat parameter vector (see module doc).

    The first hidden layers of both MLPs are stored as one `[pi0 + vf0, obs]` matrix, so
    they take one matrix product forward and one backward; `p`/`g` expose the layers
    one by one (views into `params`/`grad`) as SB3 names them."""

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        pi: tuple[int, ...] = (64, 64),
        vf: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        rng: np.random.Generator | None = None,
        dtype: type = np.float32,
    ) -> None:
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be tanh or relu, got {activation!r}")
        if not pi or not vf:
            raise ValueError("both networks need at least one hidden layer")
        self.obs_dim, self.n_actions, self.activation = obs_dim, n_actions, activation
        self.pi_sizes, self.vf_sizes, self.dtype = tuple(pi), tuple(vf), dtype
        self._split = self.pi_sizes[0]
        first = self.pi_sizes[0] + self.vf_sizes[0]
        self._shapes = [(first, obs_dim)]
        for sizes, head in ((self.pi_sizes, n_actions), (self.vf_sizes, 1)):
            self._shapes += list(zip((*sizes[1:], head), sizes, strict=True))
        size = sum(o * i + o for o, i in self._shapes)
        self.params = np.zeros(size, dtype=dtype)
        self.grad = np.zeros(size, dtype=dtype)
        self.first, self.p = self._views(self.params)
        self.g_first, self.g = self._views(self.grad)
        rng = rng if rng is not None else np.random.default_rng(0)
        pi_layers, action, vf_layers, value = self.p
        for weight, _ in (*pi_layers, *vf_layers):
            weight[:] = orthogonal(rng, *weight.shape, np.sqrt(2.0))
        action[0][:] = orthogonal(rng, *action[0].shape, 0.01)
        value[0][:] = orthogonal(rng, *value[0].shape, 1.0)

    def _views(self, flat: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], Views]:
        layers, at = [], 0
        for out, inp in self._shapes:
            weight = flat[at : at + out * inp].reshape(out, inp)
            at += out * inp
            layers.append((weight, flat[at : at + out]))
            at += out
        (w0, b0), k = layers[0], len(self.pi_sizes)
        pi = [(w0[: self._split], b0[: self._split]), *layers[1:k]]
        vf = [(w0[self._split :], b0[self._split :]), *layers[k + 1 : -1]]
        return layers[0], (pi, layers[k], vf, layers[-1])

    # ----------------------------------------------------------------- forward

    def _act(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(z, out=z) if self.activation == "tanh" else np.maximum(z, 0.0, out=z)

    def _forward(self, obs: np.ndarray) -> tuple[list, list]:
        """Every hidden layer's output of both MLPs (the shared input first)."""
        weight, bias = self.first
        h0 = obs @ weight.T
        h0 += bias
        self._act(h0)
        pi_layers, _, vf_layers, _ = self.p
        hp, hv = [obs, h0[:, : self._split]], [obs, h0[:, self._split :]]
        for hidden, layers in ((hp, pi_layers), (hv, vf_layers)):
            for weight, bias in layers[1:]:
                z = hidden[-1] @ weight.T
                z += bias
                hidden.append(self._act(z))
        return hp, hv

    def heads(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log-probabilities of every action (`[n, n_actions]`) and values (`[n]`)."""
        _, (wa, ba), _, (wv, bv) = self.p
        hp, hv = self._forward(np.asarray(obs, dtype=self.dtype))
        return _log_softmax(hp[-1] @ wa.T + ba), (hv[-1] @ wv.T)[:, 0] + bv[0]

    def values(self, obs: np.ndarray) -> np.ndarray:
        return self.heads(obs)[1]

    # ---------------------------------------------------------------- backward

    def loss_and_grad(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        old_log_prob: np.ndarray,
        advantages: np.ndarray,
        returns: np.ndarray,
        *,
        clip_range: float,
        ent_coef: float,
        vf_coef: float,
    ) -> tuple[float, LossParts]:
        """SB3 PPO's minibatch loss; its gradient is left in `self.grad`. `advantages`
        come normalized (SB3 normalizes each minibatch's: `normalized_advantages`)."""
        n = len(actions)
        pi_layers, (wa, ba), vf_layers, (wv, bv) = self.p
        g_pi, (ga, gba), g_vf, (gv, gbv) = self.g
        hp, hv = self._forward(obs)
        logp_all = _log_softmax(hp[-1] @ wa.T + ba)
        prob = np.exp(logp_all)
        rows = np.arange(n)
        logp = logp_all[rows, actions]
        ratio = np.exp(logp - old_log_prob)
        surrogate = advantages * ratio
        clipped = advantages * np.clip(ratio, 1.0 - clip_range, 1.0 + clip_range)
        policy_loss = -float(np.minimum(surrogate, clipped).sum()) / n
        entropy = -(prob * logp_all).sum(axis=1)
        mean_entropy = float(entropy.sum()) / n
        value = (hv[-1] @ wv.T)[:, 0] + bv[0]
        error = value - returns
        value_loss = float(error @ error) / n
        loss = policy_loss - ent_coef * mean_entropy + vf_coef * value_loss

        # d loss / d logits: the surrogate flows through the unclipped term where it is
        # the minimum (torch's min and clamp route the gradient the same way)
        d_logp = np.where(surrogate <= clipped, surrogate * (-1.0 / n), 0.0).astype(self.dtype)
        d_logits = prob * -d_logp[:, None]
        d_logits[rows, actions] += d_logp
        if ent_coef:
            d_logits += (ent_coef / n) * prob * (logp_all + entropy[:, None])
        np.matmul(d_logits.T, hp[-1], out=ga)
        gba[:] = d_logits.sum(axis=0)
        d_value = ((2.0 * vf_coef / n) * error).astype(self.dtype)
        np.matmul(d_value[None, :], hv[-1], out=gv)
        gbv[0] = d_value.sum()
        d_first = np.concatenate(
            (
                self._backward(hp, pi_layers, g_pi, d_logits @ wa),
                self._backward(hv, vf_layers, g_vf, d_value[:, None] * wv),
            ),
            axis=1,
        )
        d_first *= self._slope(np.concatenate((hp[1], hv[1]), axis=1))
        gw, gb = self.g_first
        np.matmul(d_first.T, obs, out=gw)
        gb[:] = d_first.sum(axis=0)
        clip_fraction = float((np.abs(ratio - 1.0) > clip_range).sum()) / n
        return loss, LossParts(policy_loss, value_loss, mean_entropy, clip_fraction)

    def _slope(self, h: np.ndarray) -> np.ndarray:
        """The activation's derivative, from its output."""
        return 1.0 - h * h if self.activation == "tanh" else (h > 0).astype(self.dtype)

    def _backward(self, hidden: list, layers: list, grads: list, d_out: np.ndarray) -> np.ndarray:
        """Gradients of the layers after the first; returns d loss / d first layer output."""
        for i in range(len(layers) - 1, 0, -1):
            d_z = d_out * self._slope(hidden[i + 1])
            gw, gb = grads[i]
            np.matmul(d_z.T, hidden[i], out=gw)
            gb[:] = d_z.sum(axis=0)
            d_out = d_z @ layers[i][0]
        return d_out

    # ----------------------------------------------------------------- export

    def policy_net(self, normalization: ObsNormalization | None = None) -> PolicyNet:
        """The float32 export every policy consumer of the service loads."""
        pi_layers, action, vf_layers, value = self.p

        def f32(layer: tuple[np.ndarray, np.ndarray]) -> Layer:
            return layer[0].astype(np.float32), layer[1].astype(np.float32)

        return PolicyNet(
            policy_layers=tuple(f32(x) for x in pi_layers),
            action_head=f32(action),
            value_layers=tuple(f32(x) for x in vf_layers),
            value_head=f32(value),
            activation=self.activation,
            normalization=normalization,
        )

    def load(self, net: PolicyNet) -> None:
        """Take `net`'s weights (a warm start); its shapes must be this network's."""
        pi_layers, action, vf_layers, value = self.p
        mine = (*pi_layers, action, *vf_layers, value)
        theirs = (*net.policy_layers, net.action_head, *net.value_layers, net.value_head)
        if len(mine) != len(theirs) or any(
            a[0].shape != b[0].shape or a[1].shape != b[1].shape
            for a, b in zip(mine, theirs, strict=False)
        ):
            raise ValueError("the policy's network does not have this network's shape")
        if net.activation != self.activation:
            raise ValueError(f"the policy uses {net.activation}, this network {self.activation}")
        for (w, b), (w2, b2) in zip(mine, theirs, strict=True):
            w[:], b[:] = w2, b2


def normalized_advantages(advantages: np.ndarray) -> np.ndarray:
    """SB3's per-minibatch normalization (torch's std has ddof 1)."""
    if len(advantages) < 2:
        return advantages
    centred = advantages - advantages.sum() / len(advantages)
    return centred / (np.sqrt(centred @ centred / (len(advantages) - 1)) + 1e-8)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


class Adam:
    """torch's Adam (SB3 passes eps 1e-5) over a flat vector, updated in place."""

    def __init__(
        self,
        params: np.ndarray,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-5,
    ) -> None:
        self.params, self.lr, self.eps = params, lr, eps
        self.beta1, self.beta2 = betas
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.t = 0
        self._tmp = np.zeros_like(params)

    def step(self, grad: np.ndarray) -> None:
        self.t += 1
        b1, b2, tmp = self.beta1, self.beta2, self._tmp
        np.subtract(grad, self.m, out=tmp)  # m += (1 - b1)(g - m): b1 m + (1 - b1) g
        tmp *= 1.0 - b1
        self.m += tmp
        np.multiply(grad, grad, out=tmp)
        tmp -= self.v
        tmp *= 1.0 - b2
        self.v += tmp
        correction2 = np.sqrt(1.0 - b2**self.t)
        np.sqrt(self.v, out=tmp)
        tmp /= correction2
        tmp += self.eps
        np.divide(self.m, tmp, out=tmp)
        tmp *= self.lr / (1.0 - b1**self.t)
        self.params -= tmp


def clip_grad_norm(grad: np.ndarray, max_norm: float) -> float:
    """torch's `clip_grad_norm_` over every parameter at once; returns the norm before."""
    norm = float(np.sqrt(grad @ grad))
    scale = max_norm / (norm + 1e-6)
    if scale < 1.0:
        grad *= scale
    return norm
