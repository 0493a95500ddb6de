"""The self-learning router: a profile per (capability, model) from recorded outcomes,
and the chain ordered by the profiles' scores once enough outcomes exist.

Definitions (docs/runtime.md repeats them):
- weight of an outcome of age `a` days: `w = 3` for `a <= 7`, else `w = exp(-(a - 7) / 14)`
  (the last week weighs 3x; older outcomes fade with a 14-day e-folding time; outcomes
  older than 180 days are not read);
- `n`: the number of outcomes read (unweighted); `confidence = min(1, n / 20)`;
- `base`: the weighted success rate (an attempt succeeds when its answer validated and
  was delivered, i.e. groundedness >= 0.8);
- `expertise`: the weighted mean quality of the successful attempts, quality =
  `groundedness * 1 / (1 + latency_s / 10) * 1 / (1 + cost_usd / 0.01)` (1 for a perfectly
  grounded, instant, free answer; halved at 10 s or at one cent); 0 without successes;
- `score = 0.3 * base + 0.5 * expertise + 0.2 * confidence`.
Ordering: the models with at least `min_outcomes` outcomes are sorted by score
(descending) among the chain positions they occupy; the others keep their configured
positions, so a new model is still tried where the operator put it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from tools.postgres import Database

RECENT_DAYS = 7
RECENT_WEIGHT = 3.0
DECAY_DAYS = 14.0
HORIZON_DAYS = 180
FULL_CONFIDENCE_N = 20
LATENCY_SCALE_S = 10.0
COST_SCALE_USD = 0.01

# constants only are interpolated; the capability is a bound parameter
_PROFILE_SQL = f"""
WITH o AS (
    SELECT capability, model, success, coalesce(groundedness, 0) AS g, latency_ms, cost_usd,
           extract(epoch FROM now() - at) / 86400.0 AS age
    FROM llm_outcomes
    WHERE at > now() - interval '{HORIZON_DAYS} days'
      AND (%(cap)s::text IS NULL OR capability = %(cap)s)
), w AS (
    SELECT *, CASE WHEN age <= {RECENT_DAYS} THEN {RECENT_WEIGHT}
                   ELSE exp(-(age - {RECENT_DAYS}) / {DECAY_DAYS}) END AS w
    FROM o
)
SELECT capability, model, count(*) AS n,
       sum(w * success::int) / nullif(sum(w), 0) AS base,
       coalesce(sum(w * g / (1 + latency_ms / 1000.0 / {LATENCY_SCALE_S})
                      / (1 + cost_usd / {COST_SCALE_USD})) FILTER (WHERE success)
                / nullif(sum(w) FILTER (WHERE success), 0), 0) AS expertise
FROM w GROUP BY capability, model ORDER BY capability, model
"""  # noqa: S608


@dataclass(frozen=True)
class Profile:
    capability: str
    model: str
    n: int
    base: float
    expertise: float

    @property
    def confidence(self) -> float:
        return min(1.0, self.n / FULL_CONFIDENCE_N)

    @property
    def score(self) -> float:
        return 0.3 * self.base + 0.5 * self.expertise + 0.2 * self.confidence


def profiles(database: Database, capability: str | None = None) -> list[Profile]:
    with database.connection() as conn:
        rows = conn.execute(_PROFILE_SQL, {"cap": capability}).fetchall()
    return [Profile(r[0], r[1], int(r[2]), float(r[3] or 0), float(r[4] or 0)) for r in rows]


M = TypeVar("M")


def order_chain(
    chain: Sequence[M], keys: Sequence[str], found: Sequence[Profile], min_outcomes: int
) -> list[M]:
    """`chain` (whose items are named by `keys`) reordered by the profiles' scores."""
    by_model = {p.model: p for p in found}
    qualified = [
        i for i, key in enumerate(keys) if key in by_model and by_model[key].n >= min_outcomes
    ]
    ranked = sorted(qualified, key=lambda i: (-by_model[keys[i]].score, i))
    ordered = list(chain)
    for slot, index in zip(qualified, ranked, strict=True):
        ordered[slot] = chain[index]
    return ordered
