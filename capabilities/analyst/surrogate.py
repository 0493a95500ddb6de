"""A readable surrogate of a bot: a shallow decision tree fitted to its logged decisions.

The tree stands in for the bot's policy where the policy cannot explain itself: its
decision path gives each feature's contribution to the chosen action (the change in the
action's probability at each split the state passes). Counterfactuals come from real
states: the fit keeps up to 1,000 logged states where the surrogate and the bot agree
(prototypes), and the counterfactual of a state is the nearest prototype (features
scaled by their spread) on which the bot acted otherwise. A point of the tree's other
region would be closer, but such an edited observation is often one the bot never saw
(its features are tied: ticks since peak = tick - peak tick), and there the bot's
behaviour and the tree's part ways; a real state flips the bot far more reliably
(bench/analyst_fidelity.py). The tree and prototypes are kept as plain arrays
(JSON-serialisable, no pickles), trained with scikit-learn and evaluated without it.
Agreement is measured on the most recent decisions, held out from training.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

HOLDOUT = 0.3


@dataclass(frozen=True)
class Tree:
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    proba: np.ndarray  # [nodes, classes]

    def leaf(self, x: np.ndarray) -> int:
        node = 0
        while self.left[node] >= 0:
            node = (
                self.left[node]
                if x[self.feature[node]] <= self.threshold[node]
                else self.right[node]
            )
        return int(node)

    def path(self, x: np.ndarray) -> list[int]:
        nodes, node = [0], 0
        while self.left[node] >= 0:
            node = (
                self.left[node]
                if x[self.feature[node]] <= self.threshold[node]
                else self.right[node]
            )
            nodes.append(int(node))
        return nodes


@dataclass(frozen=True)
class Surrogate:
    tree: Tree
    feature_names: tuple[str, ...]
    classes: tuple[int, ...]
    scale: np.ndarray  # per-feature spread used to measure a change
    train_agreement: float
    holdout_agreement: float
    majority_agreement: float  # holdout agreement of always playing the commonest action
    n_train: int
    n_holdout: int
    prototypes: np.ndarray  # [k, features]: logged states the surrogate explains
    prototype_actions: np.ndarray  # [k]: the action the bot took there

    def predict(self, x: np.ndarray) -> int:
        return self.classes[int(np.argmax(self.tree.proba[self.tree.leaf(x)]))]

    def predict_many(self, xs: np.ndarray) -> np.ndarray:
        return np.array([self.predict(x) for x in xs])

    def to_json(self) -> dict[str, Any]:
        t = self.tree
        return {
            "tree": {
                "left": t.left.tolist(),
                "right": t.right.tolist(),
                "feature": t.feature.tolist(),
                "threshold": t.threshold.tolist(),
                "proba": t.proba.tolist(),
            },
            "feature_names": list(self.feature_names),
            "classes": list(self.classes),
            "scale": self.scale.tolist(),
            "train_agreement": self.train_agreement,
            "holdout_agreement": self.holdout_agreement,
            "majority_agreement": self.majority_agreement,
            "n_train": self.n_train,
            "n_holdout": self.n_holdout,
            "prototypes": self.prototypes.tolist(),
            "prototype_actions": self.prototype_actions.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Surrogate:
        t = data["tree"]
        return cls(
            tree=Tree(
                np.array(t["left"], dtype=np.int64),
                np.array(t["right"], dtype=np.int64),
                np.array(t["feature"], dtype=np.int64),
                np.array(t["threshold"], dtype=np.float64),
                np.array(t["proba"], dtype=np.float64),
            ),
            feature_names=tuple(data["feature_names"]),
            classes=tuple(int(c) for c in data["classes"]),
            scale=np.array(data["scale"], dtype=np.float64),
            train_agreement=float(data["train_agreement"]),
            holdout_agreement=float(data["holdout_agreement"]),
            majority_agreement=float(data["majority_agreement"]),
            n_train=int(data["n_train"]),
            n_holdout=int(data["n_holdout"]),
            prototypes=np.array(data["prototypes"], dtype=np.float64).reshape(
                -1, len(data["feature_names"])
            ),
            prototype_actions=np.array(data["prototype_actions"], dtype=np.int64),
        )


def fit_surrogate(
    observations: np.ndarray,
    actions: np.ndarray,
    feature_names: tuple[str, ...],
    *,
    max_depth: int = 6,
    min_leaf: int = 20,
    seed: int = 0,
    prototypes: int = 1000,
) -> Surrogate:
    """Fit on the older 70 % of the decisions (in logged order), measure on the rest."""
    from sklearn.tree import DecisionTreeClassifier  # only training needs scikit-learn

    x = np.asarray(observations, dtype=np.float64)
    y = np.asarray(actions).astype(np.int64)
    if x.ndim != 2 or x.shape[1] != len(feature_names):
        raise ValueError(f"observations must be [decisions, {len(feature_names)}]")
    if len(x) < 50:
        raise ValueError(f"need at least 50 logged decisions, got {len(x)}")
    cut = int(len(x) * (1 - HOLDOUT))
    model = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=min_leaf, random_state=seed
    )
    model.fit(x[:cut], y[:cut])
    t = model.tree_
    proba = t.value[:, 0, :] / np.maximum(t.value[:, 0, :].sum(axis=1, keepdims=True), 1e-12)
    tree = Tree(
        t.children_left.astype(np.int64),
        t.children_right.astype(np.int64),
        t.feature.astype(np.int64),
        t.threshold.astype(np.float64),
        proba,
    )
    values, counts = np.unique(y[:cut], return_counts=True)
    majority = int(values[np.argmax(counts)])
    spread = x[:cut].std(axis=0)
    surrogate = Surrogate(
        tree=tree,
        feature_names=tuple(feature_names),
        classes=tuple(int(c) for c in model.classes_),
        scale=np.where(spread > 0, spread, 1.0),
        train_agreement=0.0,
        holdout_agreement=0.0,
        majority_agreement=float(np.mean(y[cut:] == majority)) if cut < len(y) else 0.0,
        n_train=cut,
        n_holdout=len(y) - cut,
        prototypes=np.zeros((0, x.shape[1])),
        prototype_actions=np.zeros(0, dtype=np.int64),
    )
    predicted = surrogate.predict_many(x[:cut])
    train = float(np.mean(predicted == y[:cut]))
    hold = float(np.mean(surrogate.predict_many(x[cut:]) == y[cut:])) if cut < len(y) else 0.0
    explained = np.flatnonzero(predicted == y[:cut])
    rng = np.random.default_rng(seed)
    keep = rng.choice(explained, min(prototypes, len(explained)), replace=False)
    return Surrogate(
        **{
            **surrogate.__dict__,
            "train_agreement": train,
            "holdout_agreement": hold,
            "prototypes": x[:cut][keep],
            "prototype_actions": y[:cut][keep],
        }
    )


def attributions(surrogate: Surrogate, x: np.ndarray) -> dict[str, float]:
    """Each feature's contribution to the probability of the predicted action along the
    decision path (they sum to that probability minus its base rate at the root)."""
    tree = surrogate.tree
    nodes = tree.path(x)
    k = int(np.argmax(tree.proba[nodes[-1]]))
    out: dict[str, float] = {}
    for parent, child in itertools.pairwise(nodes):
        name = surrogate.feature_names[int(tree.feature[parent])]
        out[name] = out.get(name, 0.0) + float(tree.proba[child, k] - tree.proba[parent, k])
    return dict(sorted(out.items(), key=lambda kv: -abs(kv[1])))


@dataclass(frozen=True)
class Counterfactual:
    action: int  # what the surrogate would do after the change
    changes: dict[str, tuple[float, float]]  # feature -> (from, to)
    distance: float  # sum of |change| / spread
    state: np.ndarray


def counterfactual(
    surrogate: Surrogate, x: np.ndarray, *, frozen: frozenset[str] = frozenset()
) -> Counterfactual | None:
    """The nearest prototype on which the bot acted otherwise than the surrogate predicts
    for `x`, among those equal to `x` on the `frozen` features; None when there is none."""
    x = np.asarray(x, dtype=np.float64)
    current = surrogate.predict(x)
    protos, actions = surrogate.prototypes, surrogate.prototype_actions
    locked = np.array([name in frozen for name in surrogate.feature_names])
    ok = (actions != current) & np.all(np.isclose(protos[:, locked], x[locked]), axis=1)
    if not ok.any():
        return None
    gaps = np.abs(protos[ok] - x) / surrogate.scale
    best = int(np.argmin(gaps.sum(axis=1)))
    target, gap = protos[ok][best], gaps[best]
    order = np.argsort(-gap)
    return Counterfactual(
        action=int(actions[ok][best]),
        changes={
            surrogate.feature_names[i]: (float(x[i]), float(target[i])) for i in order if gap[i] > 0
        },
        distance=float(gap.sum()),
        state=target,
    )
