"""A training run's learning curve as SVG, written as plain strings (no plotting library
on the web path): PnL per round with its 95 % band and the oracle's value above, bets
per round below, against env steps."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from capabilities.engines.svg_chart import BLUE, GAP, GREY, LEFT, ORANGE, PANEL, TOP, WIDTH, Panel
from capabilities.training.models import TrainingRun


def _series(curve: list[dict[str, Any]], key: str) -> tuple[list[float], list[float], list[float]]:
    mean, low, high = [], [], []
    for e in curve:
        v = e.get(key) or {}
        m = v.get("mean")
        mean.append(float("nan") if m is None else m)
        low.append(v.get("low") if v.get("low") is not None else mean[-1])
        high.append(v.get("high") if v.get("high") is not None else mean[-1])
    return mean, low, high


def curve_svg(run: TrainingRun) -> str:
    points = run.curve or []
    height = TOP + 2 * PANEL + GAP + 50
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="{LEFT}" y="18" font-size="13">{escape(_title(run))}</text>')  # fmt: skip
    if not points:
        return head + f'<text x="{LEFT}" y="{TOP + 40}">no evaluation yet</text></svg>'
    steps = [float(p.step) for p in points]
    evals = [p.evaluation for p in points]
    expected = all(e.get("expected_pnl") for e in evals)
    key = "expected_pnl" if expected else "pnl"
    mean, low, high = _series(evals, key)
    oracle = [e.get("oracle_value") for e in evals]
    has_oracle = all(v is not None for v in oracle)
    values = [v for v in low + high + (oracle if has_oracle else []) if math.isfinite(v)]
    what = "expected PnL per round (SOL)" if expected else "PnL per round (SOL)"
    top = Panel(TOP, steps[-1], min(values, default=0), max(values, default=1), what)
    top.axes()
    top.band(steps, low, high, BLUE)
    top.line(steps, mean, BLUE)
    top.legend(WIDTH - 330, "policy, 95 % band", BLUE)
    if has_oracle:
        top.line(steps, oracle, ORANGE, "6 4")  # type: ignore[arg-type]
        top.legend(WIDTH - 180, "oracle (exact)", ORANGE, "6 4")
    b_mean, b_low, b_high = _series(evals, "bets_per_round")
    unit = "bets" if run.env == "sidebet_v1" else "trades"
    finite = [v for v in b_low + b_high if math.isfinite(v)]
    bottom = Panel(TOP + PANEL + GAP, steps[-1], 0.0, max(finite, default=1.0),
                    f"{unit} per round")  # fmt: skip
    bottom.axes("env steps")
    bottom.band(steps, b_low, b_high, GREY)
    bottom.line(steps, b_mean, GREY)
    return head + "".join(top.parts + bottom.parts) + "</svg>"


def _title(run: TrainingRun) -> str:
    name = run.name or f"run {str(run.id)[:8]}"
    return f"{name}: PPO on {run.env}, mode {run.mode} ({run.state})"
