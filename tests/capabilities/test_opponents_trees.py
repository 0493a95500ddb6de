"""The numpy tree walk used by predict answers what sklearn answers, NaN and inf included;
a classifier cut to its first iterations answers as sklearn's staged prediction."""

from __future__ import annotations

import pickle

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from capabilities.opponents.predictor import Trees, staged_log_loss, truncated


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    gone = rng.random(n) < 0.3  # a missing value that tells the class: splits on NaN
    x[gone, 2] = np.nan
    y[gone] = 3
    x[rng.random((n, 5)) < 0.05] = np.nan
    return x, y


def test_walk_matches_sklearn_with_missing_and_infinite_values():
    x, y = _data(3000, 0)
    clf = HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=15, random_state=0).fit(x, y)
    trees = Trees(clf)
    nodes = np.concatenate([t.nodes for it in clf._predictors for t in it])
    assert np.isinf(nodes["num_threshold"][nodes["is_leaf"] == 0]).any()  # a NaN-only split
    probe, _ = _data(500, 1)
    probe[::7, 0] = np.inf
    probe[::11, 1] = -np.inf
    probe[::13, 2] = np.inf
    np.testing.assert_allclose(trees.proba(probe), clf.predict_proba(probe), atol=1e-9)


def test_pickles_as_the_classifier_and_loads_older_pickles():
    x, y = _data(800, 2)
    clf = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, y)
    trees = Trees(clf)
    again = pickle.loads(pickle.dumps(trees))
    np.testing.assert_array_equal(again.proba(x[:50]), trees.proba(x[:50]))
    older = Trees.__new__(Trees)  # an earlier version pickled every array, no `children`
    older.__setstate__({"clf": clf, "left": None, "right": None, "missing_left": None})
    np.testing.assert_array_equal(older.proba(x[:50]), trees.proba(x[:50]))


def test_every_row_reaches_the_leaf_sklearn_reaches_in_every_tree():
    """Exactly (not within a tolerance): the walk decides which leaf values predict sums,
    so the answers stay the same number for number whatever the walk's bookkeeping."""
    x, y = _data(3000, 3)
    clf = HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=31, random_state=0).fit(x, y)
    probe, _ = _data(700, 4)  # more rows than a batch: the walk sets finished ones aside
    probe[::5, 3] = np.inf
    probe[::9, 4] = -np.inf
    known, f_idx_map = clf._bin_mapper.make_known_categories_bitsets()
    expected = np.stack(
        [t.predict(probe, known, f_idx_map, 1) for it in clf._predictors for t in it]
    )
    np.testing.assert_array_equal(Trees(clf).leaves(probe), expected)
    np.testing.assert_array_equal(Trees(clf).leaves(probe[:1]), expected[:, :1])


def test_a_truncated_classifier_answers_as_its_first_iterations():
    x, y = _data(2000, 5)
    clf = HistGradientBoostingClassifier(max_iter=12, random_state=0).fit(x, y)
    probe, label = _data(400, 6)
    staged = list(clf.staged_predict_proba(probe))
    short = truncated(clf, 5)
    assert clf.n_iter_ == 12 and short.n_iter_ == 5  # the fitted one is left whole
    np.testing.assert_allclose(short.predict_proba(probe), staged[4], atol=1e-12)
    again = pickle.loads(pickle.dumps(Trees(short)))  # stored as the cut classifier
    np.testing.assert_allclose(again.proba(probe), staged[4], atol=1e-9)
    losses = staged_log_loss(clf, probe, label)
    assert len(losses) == 12
    p_true = staged[4][np.arange(len(label)), label]
    assert np.isclose(losses[4], -np.log(p_true).mean())
    assert truncated(clf, 12) is clf
