"""Archetypes: players grouped by behaviour, the number of groups chosen by BIC.

Players with at least `min_rounds` rounds played are placed in a standardized space of
their figures (`stats.FEATURES`, heavy-tailed ones log-scaled); Gaussian mixtures with
1..max_groups components (diagonal covariances) are fitted and the one with the lowest
BIC is kept. Each group is named from the figures where its mean stands furthest from
everyone's (e.g. "presale buyer, exits ~1.6x"). Players below the minimum get "too little
data" as their archetype, yet a provisional membership (their figures shrunk towards
the population's) so that predictions for them can borrow from the groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.mixture import GaussianMixture

from capabilities.opponents.stats import FEATURES, LOG_FEATURES, PlayerStats

TOO_LITTLE = "too little data"
_LOG = np.array([f in LOG_FEATURES for f in FEATURES])


@dataclass
class Archetypes:
    """A fitted mixture, its group names, and every player's memberships."""

    names: list[str]
    means: np.ndarray  # [K, F] figures (original scale) of each group
    weights: np.ndarray  # [K]
    center: np.ndarray  # standardization of the space
    scale: np.ndarray
    mixture: GaussianMixture | None
    memberships: np.ndarray  # [P, K]
    enough: np.ndarray  # [P] bool: had min_rounds
    bic: dict[int, float]
    min_rounds: int

    def transform(self, values: np.ndarray) -> np.ndarray:
        x = np.where(_LOG[None, :], np.log1p(np.maximum(values, 0.0)), values)
        return (x - self.center) / self.scale

    def assign(self, values: np.ndarray) -> np.ndarray:
        """Membership probabilities [n, K] of figures (filled, original scale)."""
        if self.mixture is None:
            return np.ones((len(values), 1))
        return self.mixture.predict_proba(self.transform(values))

    def label(self, player: int) -> tuple[str, float | None]:
        if not self.enough[player]:
            return TOO_LITTLE, None
        k = int(self.memberships[player].argmax())
        return self.names[k], float(self.memberships[player, k])


def shrunk(stats: PlayerStats, k_rounds: float = 5.0) -> np.ndarray:
    """Figures pulled towards the population median by `k_rounds` pseudo-rounds (for
    players with few rounds), NaNs (no observation) replaced by it."""
    filled = stats.filled()
    pop = np.median(filled[stats.rounds_played > 0], axis=0) if len(filled) else filled
    n = stats.rounds_played[:, None].astype(float)
    return np.where(
        np.isnan(stats.values), pop[None, :], (n * filled + k_rounds * pop) / (n + k_rounds)
    )


_PHRASES = {
    "presale_share": (lambda v: "presale buyer", lambda v: "no presale"),
    "entry_tick": (lambda v: f"late entry ~tick {v:.0f}", lambda v: f"early entry ~tick {v:.0f}"),
    "entry_drawdown": (lambda v: "buys near the peak",
                       lambda v: f"dip buyer ~{1 - v:.0%} off peak"),
    "exit_multiple": (lambda v: f"exits ~{v:.2f}x", lambda v: f"exits ~{v:.2f}x"),
    "hold_ticks": (lambda v: f"holds ~{v:.0f} ticks", lambda v: f"quick flipper ~{v:.0f} ticks"),
    "partial_sell_share": (lambda v: "sells in parts", lambda v: "sells all at once"),
    "stake": (lambda v: f"whale ~{v:.2f} SOL stakes", lambda v: f"small stakes ~{v:.3f} SOL"),
    "trades_per_round": (lambda v: f"busy ~{v:.1f} trades/round", lambda v: "rarely trades"),
    "sidebets_per_round": (lambda v: f"sidebettor ~{v:.1f} bets/round", lambda v: "no sidebets"),
    "sidebet_first_tick": (lambda v: f"late first sidebet ~tick {v:.0f}",
                           lambda v: f"early sidebets ~tick {v:.0f}"),
    "sidebet_gap": (lambda v: "waits between sidebets", lambda v: "sidebets back to back"),
    "forced_share": (lambda v: f"rides to the rug {v:.0%}", lambda v: "rarely caught by the rug"),
}  # fmt: skip


def _names(z_means: np.ndarray, means: np.ndarray) -> list[str]:
    """Two phrases per group from its two most distinguishing figures; unique names."""
    names: list[str] = []
    for k in range(len(z_means)):
        order = np.argsort(-np.abs(z_means[k]))[:2]
        parts = []
        for i in order:
            high, low = _PHRASES[FEATURES[i]]
            parts.append((high if z_means[k, i] > 0 else low)(float(means[k, i])))
        name = ", ".join(parts)
        while name in names:
            name += "'"
        names.append(name)
    return names


def fit_archetypes(
    stats: PlayerStats,
    *,
    min_rounds: int = 5,
    max_groups: int = 10,
    seed: int = 0,
) -> Archetypes:
    """Fit the mixture on players with enough rounds; BIC chooses the number of groups."""
    values = shrunk(stats)
    enough = stats.rounds_played >= min_rounds
    x_raw = np.where(_LOG[None, :], np.log1p(np.maximum(values, 0.0)), values)
    fit_rows = x_raw[enough]
    center = fit_rows.mean(axis=0) if len(fit_rows) else np.zeros(len(FEATURES))
    scale = fit_rows.std(axis=0) if len(fit_rows) > 1 else np.ones(len(FEATURES))
    scale = np.where(scale > 1e-9, scale, 1.0)
    x = (x_raw - center) / scale
    n = int(enough.sum())
    bic: dict[int, float] = {}
    best: GaussianMixture | None = None
    for k in range(1, min(max_groups, n // 2) + 1):  # two players per group at least
        gm = GaussianMixture(k, covariance_type="diag", n_init=3, random_state=seed,
                             reg_covar=1e-3)  # fmt: skip
        gm.fit(x[enough])
        bic[k] = float(gm.bic(x[enough]))
        if best is None or bic[k] < bic[best.n_components]:
            best = gm
    if best is None:  # nobody with enough rounds
        return Archetypes([], np.zeros((0, len(FEATURES))), np.zeros(0), center, scale, None,
                          np.zeros((len(values), 0)), enough, bic, min_rounds)  # fmt: skip
    memberships = best.predict_proba(x)
    hard = memberships[enough].argmax(axis=1)
    means = np.full((best.n_components, len(FEATURES)), np.nan)
    for k in range(best.n_components):
        if (hard == k).any():
            means[k] = values[enough][hard == k].mean(axis=0)
    z_means = best.means_
    return Archetypes(
        names=_names(z_means, means),
        means=means,
        weights=best.weights_,
        center=center,
        scale=scale,
        mixture=best,
        memberships=memberships,
        enough=enough,
        bic=bic,
        min_rounds=min_rounds,
    )
