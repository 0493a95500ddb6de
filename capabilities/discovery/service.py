"""Feature discovery (capability 2): which candidate features predict which targets.

Candidates are expressions in our language (`expressions`): a built-in library over
ticks, prices, trades and sidebets, plus any proposed by the caller or a language
model. Each is scored on held-out rounds (`scoring`); Benjamini-Hochberg keeps the false
discovery rate at `fdr` per target. A feature is reported as predictive only when its
q-value is at most `fdr` and it beats the baseline out of sample (lift > 0); a target
with no such feature gets a plain statement that nothing predicts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from capabilities.discovery.expressions import ExpressionError, evaluate, parse
from capabilities.discovery.panel import Panel
from capabilities.discovery.scoring import Score, benjamini_hochberg, score_feature
from capabilities.discovery.targets import Units, build_units

MARKET_FEATURES: dict[str, str] = {
    "tick": "tick",
    "price": "price",
    "log_price": "log(price)",
    "return_1": "pct(price, 1)",
    "momentum_5": "pct(price, 5)",
    "momentum_20": "pct(price, 20)",
    "volatility_10": "std(pct(price, 1), 10)",
    "volatility_30": "std(pct(price, 1), 30)",
    "mean_abs_return_20": "mean(abs(pct(price, 1)), 20)",
    "running_peak": "cummax(price)",
    "dist_from_peak": "1 - price / cummax(price)",
    "ticks_since_peak": "since_max(price)",
    "range_20": "wmax(price, 20) / wmin(price, 20) - 1",
    "sqrt_price_capped": "sqrt(min(price, 100))",
}
TRADE_FEATURES: dict[str, str] = {
    "buys_10": "sum(buys, 10)",
    "sells_10": "sum(sells, 10)",
    "buy_volume_10": "sum(buy_volume, 10)",
    "sell_volume_10": "sum(sell_volume, 10)",
    "net_flow_10": "sum(buy_volume, 10) - sum(sell_volume, 10)",
    "whale_volume_20": "sum(whale_volume, 20)",
}
SIDEBET_FEATURES: dict[str, str] = {"sidebets_20": "sum(sidebets, 20)"}
UNIT_FEATURES = ("entry_multiple", "ticks_held", "position_sol")


@dataclass(frozen=True)
class FeatureFinding:
    name: str
    expression: str
    origin: str  # library | proposed | player
    score: Score
    q_value: float
    predictive: bool


@dataclass(frozen=True)
class TargetReport:
    target: str
    units: int
    positives_share: float | None
    findings: tuple[FeatureFinding, ...]
    statement: str

    @property
    def predictive(self) -> list[FeatureFinding]:
        return [f for f in self.findings if f.predictive]


def library(panel: Panel) -> dict[str, str]:
    """The built-in candidates the panel has data for."""
    out = dict(MARKET_FEATURES)
    if "buys" in panel.names:
        out.update(TRADE_FEATURES)
    if "sidebets" in panel.names:
        out.update(SIDEBET_FEATURES)
    return out


def compile_candidates(
    panel: Panel, proposed: dict[str, str] | None = None
) -> tuple[dict[str, tuple[str, str, object]], dict[str, str]]:
    """({name: (expression, origin, tree)}, {name: error}) for library and proposals."""
    ok: dict[str, tuple[str, str, object]] = {}
    errors: dict[str, str] = {}
    for name, text in library(panel).items():
        ok[name] = (text, "library", parse(text, panel.names))
    for name, text in (proposed or {}).items():
        try:
            ok[name] = (text, "proposed", parse(text, panel.names))
        except ExpressionError as exc:
            errors[name] = str(exc)
    return ok, errors


def _statement(target: str, report: list[FeatureFinding], units: Units) -> str:
    found = [f for f in report if f.predictive]
    label = target.replace("_", " ")
    if not found:
        return (
            f"Nothing predicts {label}: none of {len(report)} candidates beats the baseline "
            f"on held-out rounds at the false-discovery rate used ({len(units)} units)."
        )
    top = ", ".join(f.name for f in found[:5])
    return f"{len(found)} of {len(report)} candidates predict {label} on held-out rounds: {top}."


def discover(
    panel: Panel,
    targets: Sequence[str],
    *,
    horizon: int = 40,
    fdr: float = 0.05,
    proposed: dict[str, str] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[list[TargetReport], dict[str, str]]:
    """Score every candidate for every target; returns the reports and rejected proposals."""
    candidates, rejected = compile_candidates(panel, proposed)
    values = {name: evaluate(tree, panel.series) for name, (_, _, tree) in candidates.items()}  # type: ignore[arg-type]
    reports = []
    for i, target in enumerate(targets):
        started = time.perf_counter()
        units = build_units(panel, target, horizon)
        order = units.row.astype(np.float64)
        scored: list[tuple[str, str, str, Score]] = []
        columns = {
            n: (candidates[n][0], candidates[n][1], v[units.row, units.tick])
            for n, v in values.items()
        }
        for name, column in units.extra.items():
            columns[name] = (name, "player", column)
        for name, (text, origin, x) in columns.items():
            score = score_feature(x, units.y, order, units.binary)
            if score is not None:
                scored.append((name, text, origin, score))
        q = benjamini_hochberg(np.array([s.p_value for *_, s in scored]))
        findings = sorted(
            (
                FeatureFinding(name, text, origin, s, float(qv), bool(qv <= fdr and s.lift > 0))
                for (name, text, origin, s), qv in zip(scored, q, strict=True)
            ),
            key=lambda f: (not f.predictive, f.score.p_value),
        )
        reports.append(
            TargetReport(
                target=target,
                units=len(units),
                positives_share=float(units.y.mean()) if units.binary else None,
                findings=tuple(findings),
                statement=_statement(target, findings, units),
            )
        )
        if progress:
            progress((i + 1) / len(targets), f"{target}: {time.perf_counter() - started:.1f}s")
    return reports, rejected
