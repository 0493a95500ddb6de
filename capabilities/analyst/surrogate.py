"""A readable surrogate of a bot: a shallow decision tree fitted to its logged decisions.

The tree stands in for the bot's policy where the policy cannot explain itself: its
decision path gives each feature's contribution to the chosen action (the change in the
action's probability at each split the state passes), and its leaves give
counterfactuals: the nearest region of feature space where the surrogate picks another
action, reached by the smallest change of the state (features scaled by their spread).
The tree is kept as plain arrays (JSON-serialisable, no pickles), trained with
scikit-learn and evaluated without it. Agreement is measured on the most recent
decisions, held out from training.
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
        )


def fit_surrogate(
    observations: np.ndarray,
    actions: np.ndarray,
    feature_names: tuple[str, ...],
    *,
    max_depth: int = 6,
    min_leaf: int = 20,
    seed: int = 0,
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
    )
    train = float(np.mean(surrogate.predict_many(x[:cut]) == y[:cut]))
    hold = float(np.mean(surrogate.predict_many(x[cut:]) == y[cut:])) if cut < len(y) else 0.0
    return Surrogate(**{**surrogate.__dict__, "train_agreement": train, "holdout_agreement": hold})


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


def _leaf_boxes(tree: Tree, n_features: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    boxes = []
    stack = [(0, np.full(n_features, -np.inf), np.full(n_features, np.inf))]
    while stack:
        node, low, high = stack.pop()
        if tree.left[node] < 0:
            boxes.append((node, low, high))
            continue
        f, thr = int(tree.feature[node]), float(tree.threshold[node])
        left_high = high.copy()
        left_high[f] = min(high[f], thr)
        right_low = low.copy()
        right_low[f] = max(low[f], thr)
        stack.append((int(tree.left[node]), low, left_high))
        stack.append((int(tree.right[node]), right_low, high))
    return boxes


def counterfactual(
    surrogate: Surrogate,
    x: np.ndarray,
    *,
    frozen: frozenset[str] = frozenset(),
    overshoot: float = 0.25,
) -> Counterfactual | None:
    """The smallest change of `x` (features in `frozen` untouched) after which the
    surrogate picks another action; None when no such region exists. The change goes
    `overshoot` spreads past the boundary it crosses (at most half-way into the region),
    because the bot's own boundary is only approximately the surrogate's."""
    x = np.asarray(x, dtype=np.float64)
    current = surrogate.predict(x)
    locked = np.array([name in frozen for name in surrogate.feature_names])
    best: Counterfactual | None = None
    for node, low, high in _leaf_boxes(surrogate.tree, len(x)):
        action = surrogate.classes[int(np.argmax(surrogate.tree.proba[node]))]
        if action == current:
            continue
        width = np.where(np.isfinite(high - low), (high - low) / 2, np.inf)
        push = np.minimum(overshoot * surrogate.scale, width)
        target = np.where(x <= low, low + push, np.where(x > high, high - push, x))
        if np.any(locked & (target != x)):
            continue
        distance = float(np.sum(np.abs(target - x) / surrogate.scale))
        if best is None or distance < best.distance:
            changed = np.flatnonzero(target != x)
            best = Counterfactual(
                action=action,
                changes={
                    surrogate.feature_names[i]: (float(x[i]), float(target[i])) for i in changed
                },
                distance=distance,
                state=target,
            )
    return best
