"""The fitted models of a game mode on view (GET /v1/models/game/{mode}): the hazard
model with its bands and tests, the price model, the rounds behind them, and how far the
data are from the mode's documented law."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from capabilities.engines.game_models.registry import ModelSet
from capabilities.engines.game_models.truth import TruePrice
from game.rules import GameRules, mode_entry
from tools.postgres import Database

GOF_ALPHA = 0.01
CURVE_MIN_AT_RISK = 20
_COUNTS_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE first_observed_tick > 0),
       count(*) FILTER (WHERE replay_ok),
       count(*) FILTER (WHERE replay_ok = false)
FROM games WHERE mode = %(mode)s AND rug_tick IS NOT NULL AND rug_tick >= 1
"""


class HazardBand(BaseModel):
    start: int = Field(description="first tick of the band")
    end: int = Field(description="last tick of the band")
    rugs: int
    exposure: int = Field(description="round-ticks at risk in the band")
    rate: float = Field(description="P(rug at a tick of the band | alive before it)")
    ci95: tuple[float, float]


class ConstancyTestView(BaseModel):
    """Is the hazard the same at every tick (the documented, memoryless game)?"""

    lr_statistic: float
    lr_df: int
    lr_p_value: float
    trend_z: float = Field(description="> 0: the hazard rises with the tick")
    trend_p_value: float
    alpha: float
    constant: bool = Field(description="neither test rejects at alpha/2 (Bonferroni)")


class HazardView(BaseModel):
    form: Literal["constant", "monotone", "piecewise", "documented", "pooled"] = Field(
        description="the fitted form; `documented`: no rounds, the rules are used; "
        "`pooled`: too few rounds, a constant rate pooled across modes (docs/meta.md)"
    )
    rate_per_tick: float = Field(description="pooled hazard (fitted) or at tick 1 (rules)")
    rate_ci95: tuple[float, float]
    mean_ticks_to_rug: float | None
    bands: list[HazardBand] = Field(description="the hazard by tick band, with 95 % intervals")
    constancy_test: ConstancyTestView | None


class DocumentedLaw(BaseModel):
    law: str = Field(description="the hazard the mode's rules state")
    rug_prob: float
    hazard_slope: float
    hazard_ramp_start: int
    hazard_cap: float


class GoodnessOfFitView(BaseModel):
    test: str
    statistic: float
    df: int
    p_value: float
    rejects_documented_law: bool = Field(description=f"p < {GOF_ALPHA}")
    observed_rugs: list[int] = Field(description="rugs per band of the test")
    expected_rugs: list[float] = Field(description="what the documented law expects there")


class GameModelReport(BaseModel):
    mode: str
    mode_source: Literal["packaged", "dir", "db"]
    base: str | None
    version: str
    source: Literal["fitted", "pooled", "rules"] = Field(
        description="fitted from stored rounds, pooled across modes (fewer than "
        "AGENT_MODELS_MIN_ROUNDS), or the documented rules (no rounds)"
    )
    rounds_used: int = Field(description="the latest rounds the fit used")
    rounds_stored: int = Field(description="finished rounds of the mode stored")
    left_truncated_rounds: int = Field(
        description="stored rounds first observed after tick 0 (risk set entered there)"
    )
    verified_rounds: int = Field(description="stored rounds replayed from their seed exactly")
    failed_verification_rounds: int
    fitted_at: datetime
    fit_seconds: float
    hazard: HazardView
    price: dict[str, Any] = Field(description="per-tick return model (drift, regimes, volatility)")
    documented: DocumentedLaw
    goodness_of_fit: GoodnessOfFitView | None = Field(
        description="the stored rounds against the documented law; null without a fit"
    )
    pooling: dict[str, Any] | None = Field(
        None, description="when pooled: own vs pooled hazard and drift, weight on other modes"
    )
    hazard_svg_url: str


def documented_law(rules: GameRules) -> DocumentedLaw:
    if rules.hazard_slope == 0:
        law = f"{rules.rug_prob:g} at every tick"
    else:
        law = (f"min({rules.hazard_cap:g}, {rules.rug_prob:g} + {rules.hazard_slope:g} * "
               f"max(0, tick - {rules.hazard_ramp_start}))")  # fmt: skip
    return DocumentedLaw(
        law=law,
        rug_prob=rules.rug_prob,
        hazard_slope=rules.hazard_slope,
        hazard_ramp_start=rules.hazard_ramp_start,
        hazard_cap=rules.hazard_cap,
    )


def _hazard(models: ModelSet, rules: GameRules) -> HazardView:
    fit = models.hazard_model
    if fit is None and models.pooled is not None:
        pooled = models.pooled.hazard
        return HazardView(
            form="pooled",
            rate_per_tick=pooled.estimate,
            rate_ci95=(pooled.low, pooled.high),
            mean_ticks_to_rug=round(1 / pooled.estimate, 1),
            bands=[],
            constancy_test=None,
        )
    if fit is None:
        h = float(rules.hazard(1))
        return HazardView(
            form="documented",
            rate_per_tick=h,
            rate_ci95=(h, h),
            mean_ticks_to_rug=round(1 / h, 1) if rules.hazard_slope == 0 else None,
            bands=[],
            constancy_test=None,
        )
    t = fit.test
    return HazardView(
        form=fit.kind,  # type: ignore[arg-type]
        rate_per_tick=fit.rate,
        rate_ci95=(fit.rate_low, fit.rate_high),
        mean_ticks_to_rug=round(1 / fit.rate, 1) if fit.rate > 0 else None,
        bands=[
            HazardBand(
                start=b.start,
                end=b.end,
                rugs=b.events,
                exposure=b.exposure,
                rate=b.rate,
                ci95=(b.low, b.high),
            )
            for b in fit.bins
        ],
        constancy_test=ConstancyTestView(
            lr_statistic=t.lr_statistic,
            lr_df=t.lr_df,
            lr_p_value=t.lr_p_value,
            trend_z=t.trend_z,
            trend_p_value=t.trend_p_value,
            alpha=t.alpha,
            constant=t.constant,
        ),
    )


def _price(models: ModelSet, rules: GameRules) -> dict[str, Any]:
    if models.price_model is not None:
        figures = models.price_model.summary()
    else:
        truth = TruePrice(rules)
        figures = {"drift_per_tick": truth.drift_at(1.0)[0], "down_share": truth.down_share}
    if models.pooled is not None:
        drift = models.pooled.drift
        figures["drift_per_tick_pooled"] = drift.estimate
        figures["drift_pooled_ci95"] = [drift.low, drift.high]
    return {**figures, "volatility_per_tick_at_1x": models.price.volatility(1.0)}


def _goodness_of_fit(models: ModelSet, rules: GameRules) -> GoodnessOfFitView | None:
    if models.hazard_model is None:
        return None
    gof = models.hazard_model.goodness_of_fit(rules.hazard)
    return GoodnessOfFitView(
        test="Pearson chi-square of rugs per tick band against the documented hazard "
        "(expected: rounds at risk x the law's hazard, binomial variance), df = bands",
        statistic=gof.statistic,
        df=gof.df,
        p_value=gof.p_value,
        rejects_documented_law=gof.p_value < GOF_ALPHA,
        observed_rugs=list(gof.observed),
        expected_rugs=[round(x, 3) for x in gof.expected],
    )


def model_report(models: ModelSet, database: Database, svg_url: str) -> GameModelReport:
    """The report of `models` (the registry's current set for its mode)."""
    entry = mode_entry(models.mode)
    rules = entry.rules
    with database.connection() as conn:
        stored, truncated, verified, failed = conn.execute(
            _COUNTS_SQL, {"mode": models.mode}
        ).fetchone()
    return GameModelReport(
        mode=models.mode,
        mode_source=entry.source,
        base=entry.base,
        version=models.version,
        source=models.source,  # type: ignore[arg-type]
        rounds_used=models.rounds,
        rounds_stored=stored,
        left_truncated_rounds=truncated,
        verified_rounds=verified,
        failed_verification_rounds=failed,
        fitted_at=models.fitted_at,
        fit_seconds=models.fit_seconds,
        hazard=_hazard(models, rules),
        price=_price(models, rules),
        documented=documented_law(rules),
        goodness_of_fit=_goodness_of_fit(models, rules),
        pooling=models.pooled.summary() if models.pooled is not None else None,
        hazard_svg_url=svg_url,
    )


def hazard_curve_points(models: ModelSet, rules: GameRules) -> tuple[np.ndarray, np.ndarray]:
    """(ticks, [3, n] estimate/low/high) of the hazard to draw: a fit up to the last tick
    at least CURVE_MIN_AT_RISK rounds reached (beyond, a rate rests on a handful of
    rounds: one rug among two is 50 %), the rules up to where 99.9 % of rounds rugged."""
    fit = models.hazard_model
    if fit is not None:
        reached = np.flatnonzero(fit.at_risk >= CURVE_MIN_AT_RISK)
        last = int(reached[-1]) if reached.size else fit.bins[-1].end
    else:
        survival = np.cumprod(1 - rules.hazard(np.arange(1, rules.max_ticks + 1)))
        last = int(np.searchsorted(-survival, -1e-3)) + 1
    ticks = np.arange(1, max(last, 2) + 1)
    return ticks, models.hazard.hazard_curve(ticks)
