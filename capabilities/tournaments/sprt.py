"""A sequential test per pair of entrants, in the manner of fishtest's GSPRT.

Each round gives a paired outcome d = PnL(a) - PnL(b) (both on the same seed). The
hypotheses are effect sizes, in standard deviations of d: H0 "a is better by h0"
against H1 "a is better by h1" (h1 > h0 >= 0). The generalized log-likelihood ratio
replaces the unknown variance by its estimate (fishtest's normal approximation):

    LLR(n) = n/2 * (h1 - h0) * (2 t - h0 - h1),        t = mean(d) / sd(d)

and Wald's bounds A = ln(beta / (1 - alpha)), B = ln((1 - beta) / alpha) stop it:
LLR >= B accepts H1, LLR <= A accepts H0. A pair asks two such questions, "a better
than b" and "b better than a", each at alpha/2, so an A/A pair is declared different
with probability <= alpha in all; it is decided when a direction accepts its H1 (that
entrant is better), or when both accept H0 (no difference of size h1 either way).

Rounds arrive in chunks but are kept in round order, so the LLR path is computed at
every round from `min_rounds` on, and a pair stops at its first crossing, exactly as if
it had been checked after each round (the rounds computed past it are not counted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Verdict = Literal["a_better", "b_better", "no_difference", "undecided"]


@dataclass(frozen=True)
class SprtSettings:
    h0: float = 0.0
    h1: float = 0.05
    alpha: float = 0.05
    beta: float = 0.05
    min_rounds: int = 100

    @property
    def bounds(self) -> tuple[float, float]:
        """(A, B) for one direction, which tests at alpha/2."""
        a = self.alpha / 2
        return math.log(self.beta / (1 - a)), math.log((1 - self.beta) / a)

    def fixed_rounds(self) -> int:
        """Rounds of the fixed-size test of the same hypotheses and error rates, what the
        sequential test saves against: per direction a one-sided z-test of h0 against h1
        at alpha/2 with power 1 - beta, in the same units (standard deviations of d),
        n = ((z(1 - alpha/2) + z(1 - beta)) / (h1 - h0))^2; the two directions together
        are the two-sided z-test at alpha."""
        from scipy.stats import norm

        z = norm.ppf(1 - self.alpha / 2) + norm.ppf(1 - self.beta)
        return math.ceil((z / (self.h1 - self.h0)) ** 2)

    def least_rounds(self) -> tuple[float, float]:
        """Wald's lower bound on the expected rounds of ANY sequential test with these
        error rates, (at h0, at h1), for one direction: the binary divergence of its
        error rates over the information per round, (h1 - h0)^2 / 2. No design can beat
        it; the SPRT comes within its overshoot (and, with an estimated variance, a
        little more)."""
        a, b = self.alpha / 2, self.beta

        def divergence(p: float, q: float) -> float:
            return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))

        info = (self.h1 - self.h0) ** 2 / 2
        return divergence(1 - a, b) / info, divergence(1 - b, a) / info


@dataclass(frozen=True)
class PairTest:
    verdict: Verdict
    decided_at: int | None  # rounds used when it was decided
    llr_better: float  # final LLR of "a better than b" (at the decision or the end)
    llr_worse: float  # final LLR of "b better than a"
    bounds: tuple[float, float]


def _t_path(d: np.ndarray) -> np.ndarray:
    """mean/sd of d[:n] for n = 1..len(d) (sd with ddof 0; +-inf or 0 when sd is 0)."""
    d = np.asarray(d, dtype=np.float64)
    n = np.arange(1, len(d) + 1, dtype=np.float64)
    shift = d[0] if len(d) else 0.0  # centring keeps the running variance accurate
    s1 = np.cumsum(d - shift)
    s2 = np.cumsum((d - shift) ** 2)
    mean = s1 / n
    var = np.maximum(s2 / n - mean**2, 0.0)
    mean += shift
    sd = np.sqrt(var)
    tiny = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(tiny, np.sign(mean) * np.inf, mean / np.where(tiny, 1.0, sd))
    return np.nan_to_num(t, nan=0.0)  # sd 0 and mean 0: identical so far


def llr_path(d: np.ndarray, h0: float, h1: float) -> np.ndarray:
    """The GLLR of H1 (effect h1) against H0 (effect h0) after each round."""
    n = np.arange(1, len(d) + 1, dtype=np.float64)
    t = _t_path(d)
    with np.errstate(invalid="ignore", over="ignore"):
        llr = n / 2 * (h1 - h0) * (2 * t - h0 - h1)
    return np.nan_to_num(llr, nan=0.0, posinf=np.inf, neginf=-np.inf)


def _first_exit(llr: np.ndarray, low: float, high: float, start: int) -> tuple[int | None, bool]:
    """(index of the first exit from (low, high) at or after `start`, accepted H1?)."""
    out = np.flatnonzero((llr[start:] <= low) | (llr[start:] >= high))
    if out.size == 0:
        return None, False
    i = start + int(out[0])
    return i, bool(llr[i] >= high)


def decide_pair(d: np.ndarray, settings: SprtSettings) -> PairTest:
    """The sequential verdict on paired differences d (a - b) in round order."""
    low, high = settings.bounds
    h0, h1 = settings.h0, settings.h1
    up, down = llr_path(d, h0, h1), llr_path(-np.asarray(d), h0, h1)
    start = max(settings.min_rounds, 1) - 1
    if len(d) <= start:
        last = (float(up[-1]) if len(d) else 0.0, float(down[-1]) if len(d) else 0.0)
        return PairTest("undecided", None, *last, (low, high))
    i_up, up_h1 = _first_exit(up, low, high, start)
    i_down, down_h1 = _first_exit(down, low, high, start)
    wins = [(i, v) for i, h, v in ((i_up, up_h1, "a_better"), (i_down, down_h1, "b_better"))
            if i is not None and h]  # fmt: skip
    if wins:
        i, verdict = min(wins)
        return PairTest(verdict, i + 1, float(up[i]), float(down[i]), (low, high))  # type: ignore[arg-type]
    if i_up is not None and i_down is not None:
        i = max(i_up, i_down)
        return PairTest("no_difference", i + 1, float(up[i]), float(down[i]), (low, high))
    return PairTest("undecided", None, float(up[-1]), float(down[-1]), (low, high))
