"""Meta-learning across modes: a target mode's game-model parameters pooled with the
other stored modes (`pooling.py`), as the answer of `POST /v1/meta/adapt`."""

from __future__ import annotations

import numpy as np

from capabilities.meta.data import load_round_stats
from capabilities.meta.models import (
    AdaptAnswer,
    AdaptRequest,
    ParameterEstimate,
    PriorFit,
    SourceMode,
    TrajectoryPoint,
)
from capabilities.meta.pooling import ALL_MODES, UNLIKE_ANY, Pooled, Priors, RoundStats
from tools.errors import NotFound
from tools.postgres import Database

CHECKPOINTS = (0, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10_000)
"""Round counts at which the trajectory (and its chart) shows the estimates."""


def _empty(mode: str) -> RoundStats:
    ints, floats = np.zeros(0, np.int64), np.zeros(0)
    return RoundStats(mode, ints, ints, ints, floats, floats, ints, floats, floats)


def _estimate(pooled: Pooled, parameter: str) -> ParameterEstimate:
    posterior = pooled.hazard if parameter == "hazard" else pooled.drift
    return ParameterEstimate.model_validate(posterior.summary())


def _prior(pooled: Pooled) -> dict[str, PriorFit]:
    out = {}
    for name, prior in (("hazard", pooled.hazard_prior), ("drift", pooled.drift_prior)):
        out[name] = PriorFit(
            twin_spread=float(f"{prior.twin_spread:.4g}"),
            twins=round(1 - prior.new_share, 4),
            all_modes=round(prior.new_share * (1 - prior.vague_share), 4),
            unlike_any=round(prior.new_share * prior.vague_share, 4),
        )
    return out


def source_stats(
    stats: dict[str, RoundStats], mode: str, sources: list[str] | None
) -> list[RoundStats]:
    """The modes to borrow from: the requested ones (404 when one has no stored rounds)
    or every other stored mode; the target never borrows from itself."""
    if sources is None:
        return [s for m, s in sorted(stats.items()) if m != mode]
    missing = [m for m in sources if m not in stats]
    if missing:
        raise NotFound(f"no stored rounds of the source modes {', '.join(missing)[:300]}")
    return [stats[m] for m in dict.fromkeys(sources) if m != mode]


def adapt(database: Database, request: AdaptRequest, served_as: str) -> AdaptAnswer:
    """Pool the target with the sources; `served_as` is what the model registry serves."""
    with database.connection() as conn:
        stats = load_round_stats(conn, request.max_rounds)
    return answer_from_stats(stats, request, served_as)


def answer_from_stats(
    stats: dict[str, RoundStats], request: AdaptRequest, served_as: str
) -> AdaptAnswer:
    """The answer from every mode's per-round statistics (stored or simulated)."""
    own = stats.get(request.mode) or _empty(request.mode)
    sources = source_stats(stats, request.mode, request.sources)
    priors = Priors.fit([s.upto() for s in sources])
    if priors is None:
        raise NotFound("no other mode has stored rounds to borrow from")
    final = priors.pool(own.upto())
    counts = [n for n in CHECKPOINTS if n < len(own)] + [len(own)]
    trajectory = [
        TrajectoryPoint(rounds=n, hazard=_estimate(p, "hazard"), drift=_estimate(p, "drift"))
        for n in counts
        for p in [priors.pool(own.upto(n))]
    ]
    used = [s.upto() for s in sources]
    return AdaptAnswer(
        mode=request.mode,
        rounds=len(own),
        served_as=served_as,
        hazard=_estimate(final, "hazard"),
        drift=_estimate(final, "drift"),
        sources=[
            SourceMode(mode=s.mode, rounds=s.rounds, hazard=s.hazard or 0.0, drift=s.drift or 0.0)
            for s in used
            if s.hazard is not None and s.drift is not None
        ],
        prior=_prior(final),
        trajectory=trajectory,
    )


def closest_source(answer: AdaptAnswer) -> tuple[str, float] | None:
    """The source mode whose twin has the most posterior weight on the target's hazard
    (the sidebet game is the hazard's), with that weight; None with no source. The
    weight says how much the choice means: near 0 the target resembles no source."""
    for name, weight in answer.hazard.resembles.items():
        if name not in (ALL_MODES, UNLIKE_ANY):
            return name, weight
    return None
