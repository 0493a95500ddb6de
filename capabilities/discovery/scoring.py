"""Held-out evaluation of one candidate feature, and false-discovery control.

Rounds are split in time order: a model of the target on the feature is fitted on the
older rounds and judged on the newer ones. Figures per feature:
- effect: AUC (binary targets) or Spearman's rho (sizes) on the held-out rounds;
- lift: the held-out gain over the baseline that ignores the feature (relative log-loss
  reduction for binary targets, out-of-sample R^2 for sizes); may be negative;
- p-value: a score test of "no association" on the held-out units, with a variance that
  stays valid under heteroskedasticity and the person-period design of `targets`;
- stability: the share of time-ordered folds in which the association has the same sign.
Benjamini-Hochberg over all candidates of a target controls the false-discovery rate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from capabilities.engines.game_models.hazard import normal_sf

SPLIT = 0.6
FOLDS = 5


@dataclass(frozen=True)
class Score:
    units_train: int
    units_test: int
    effect: float
    lift: float
    z: float
    p_value: float
    stability: float


def score_test(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(z, two-sided p) for association of x and y; robust (sandwich) variance."""
    if len(x) < 3:
        return 0.0, 1.0
    dx, dy = x - x.mean(), y - y.mean()
    var = float(np.sum(dx * dx * dy * dy))
    if var <= 0:
        return 0.0, 1.0
    z = float(np.sum(dx * dy) / np.sqrt(var))
    return z, 2 * normal_sf(abs(z))


def auc(x: np.ndarray, y: np.ndarray) -> float:
    positives = y > 0.5
    n1, n0 = int(positives.sum()), int((~positives).sum())
    if n1 == 0 or n0 == 0:
        return 0.5
    from scipy import stats  # a job's import: scipy stays out of the web workers

    ranks = stats.rankdata(x)
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[float, float]:
    """Intercept and slope of a one-feature logistic regression (Newton's method)."""
    a = np.log((y.mean() + 1e-9) / (1 - y.mean() + 1e-9))
    b = 0.0
    for _ in range(30):
        p = 1 / (1 + np.exp(-np.clip(a + b * x, -30, 30)))
        w = p * (1 - p)
        g = np.array([np.sum(y - p), np.sum((y - p) * x) - ridge * b])
        h = np.array([[np.sum(w), np.sum(w * x)], [np.sum(w * x), np.sum(w * x * x) + ridge]])
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            break
        a, b = a + step[0], b + step[1]
        if np.abs(step).max() < 1e-8:
            break
    return float(a), float(b)


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _lift(
    x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, binary: bool
) -> float:
    mu, sd = x_tr.mean(), x_tr.std()
    if sd == 0 or len(y_te) == 0:
        return 0.0
    z_tr, z_te = (x_tr - mu) / sd, np.clip((x_te - mu) / sd, -10, 10)
    if binary:
        base = float(np.clip(y_tr.mean(), 1e-9, 1 - 1e-9))
        a, b = _logistic(z_tr, y_tr)
        model = 1 / (1 + np.exp(-np.clip(a + b * z_te, -30, 30)))
        return 1 - _log_loss(model, y_te) / _log_loss(np.full(len(y_te), base), y_te)
    slope, intercept = np.polyfit(z_tr, y_tr, 1)
    resid = y_te - (intercept + slope * z_te)
    base = y_te - y_tr.mean()
    denom = float(np.sum(base * base))
    return 1 - float(np.sum(resid * resid)) / denom if denom > 0 else 0.0


def score_feature(x: np.ndarray, y: np.ndarray, order: np.ndarray, binary: bool) -> Score | None:
    """Evaluate feature values `x` for outcomes `y` on units ordered in time by `order`
    (the unit's round position); None when too few units have a value."""
    ok = np.isfinite(x)
    x, y, order = x[ok], y[ok], order[ok]
    if len(x) < 20 or np.all(x == x[0]):
        return None
    cut = np.quantile(order, SPLIT)
    train, test = order <= cut, order > cut
    if train.sum() < 10 or test.sum() < 10:
        return None
    x_te, y_te = x[test], y[test]
    z, p = score_test(x_te, y_te)
    if binary:
        effect = auc(x_te, y_te)
    else:
        from scipy import stats

        effect = float(stats.spearmanr(x_te, y_te).statistic)
    if not np.isfinite(effect):
        effect = 0.5 if binary else 0.0
    edges = np.quantile(order, np.linspace(0, 1, FOLDS + 1))
    signs = []
    for lo, hi in itertools.pairwise(edges):
        fold = (order >= lo) & (order <= hi)
        if fold.sum() >= 10:
            fz, _ = score_test(x[fold], y[fold])
            signs.append(np.sign(fz))
    stability = float(np.mean(np.array(signs) == np.sign(z))) if signs and z != 0 else 0.0
    return Score(
        units_train=int(train.sum()),
        units_test=int(test.sum()),
        effect=effect,
        lift=_lift(x[train], y[train], x_te, y_te, binary),
        z=z,
        p_value=p,
        stability=stability,
    )


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Adjusted q-values; a feature is a discovery at FDR q when its q-value <= q."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out
