"""A training run's learning curve as SVG, written as plain strings (no plotting library
on the web path): PnL per round with its 95 % band and the oracle's value above, bets
per round below, against env steps."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from capabilities.training.models import TrainingRun

WIDTH, PANEL, GAP, LEFT, RIGHT, TOP = 760, 190, 50, 70, 20, 40
BLUE, GREY, ORANGE = "#1f5fa8", "#888888", "#c0641e"


def _nice(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value / 1000:g}k" if abs(value) < 1e6 else f"{value / 1e6:g}M"
    return f"{value:.3g}"


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / n
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


class _Panel:
    """One plot area: data -> pixel transforms, axes and series."""

    def __init__(
        self,
        top: float,
        x_max: float,
        y_low: float,
        y_high: float,
        label: str,
        x_title: str = "env steps",
    ) -> None:
        pad = (y_high - y_low) * 0.08 or 0.05
        self.top, self.x_max = top, max(x_max, 1.0)
        self.y_low, self.y_high = y_low - pad, y_high + pad
        self.label, self.x_title = label, x_title
        self.parts: list[str] = []

    def x(self, step: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * step / self.x_max

    def y(self, value: float) -> float:
        share = (value - self.y_low) / (self.y_high - self.y_low)
        return self.top + PANEL * (1 - share)

    def axes(self, x_label: bool) -> None:
        p = self.parts
        p.append(f'<rect x="{LEFT}" y="{self.top}" width="{WIDTH - LEFT - RIGHT}" '
                 f'height="{PANEL}" fill="none" stroke="#ccc"/>')  # fmt: skip
        for v in _ticks(self.y_low, self.y_high):
            y = self.y(v)
            p.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#eee"/><text x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_nice(v)}</text>')  # fmt: skip
        for s in _ticks(0, self.x_max):
            x = self.x(s)
            p.append(f'<text x="{x:.1f}" y="{self.top + PANEL + 16}" '
                     f'text-anchor="middle">{_nice(s)}</text>')  # fmt: skip
        p.append(f'<text x="{LEFT}" y="{self.top - 8}" font-weight="bold">'
                 f"{escape(self.label)}</text>")  # fmt: skip
        if x_label:
            p.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{self.top + PANEL + 36}" '
                     f'text-anchor="middle">{escape(self.x_title)}</text>')  # fmt: skip

    def band(self, steps: list[float], low: list[float], high: list[float], color: str) -> None:
        upper = [f"{self.x(s):.1f},{self.y(v):.1f}" for s, v in zip(steps, high, strict=True)]
        lower = [f"{self.x(s):.1f},{self.y(v):.1f}" for s, v in zip(steps, low, strict=True)]
        points = " ".join(upper + lower[::-1])
        self.parts.append(f'<polygon points="{points}" fill="{color}" fill-opacity="0.18"/>')

    def line(self, steps: list[float], values: list[float], color: str, dash: str = "") -> None:
        points = " ".join(
            f"{self.x(s):.1f},{self.y(v):.1f}" for s, v in zip(steps, values, strict=True)
        )
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" '
                          f'stroke-width="2"{extra}/>')  # fmt: skip

    def legend(self, x: float, text: str, color: str, dash: str = "") -> None:
        y = self.top - 12  # on the panel's title line, clear of the data
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{x}" x2="{x + 22}" y1="{y}" y2="{y}" stroke="{color}" '
                          f'stroke-width="2"{extra}/><text x="{x + 27}" y="{y + 4}">'
                          f"{escape(text)}</text>")  # fmt: skip


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
    top = _Panel(TOP, steps[-1], min(values, default=0), max(values, default=1), what)
    top.axes(False)
    top.band(steps, low, high, BLUE)
    top.line(steps, mean, BLUE)
    top.legend(WIDTH - 330, "policy, 95 % band", BLUE)
    if has_oracle:
        top.line(steps, oracle, ORANGE, "6 4")  # type: ignore[arg-type]
        top.legend(WIDTH - 180, "oracle (exact)", ORANGE, "6 4")
    b_mean, b_low, b_high = _series(evals, "bets_per_round")
    unit = "bets" if run.env == "sidebet_v1" else "trades"
    finite = [v for v in b_low + b_high if math.isfinite(v)]
    bottom = _Panel(TOP + PANEL + GAP, steps[-1], 0.0, max(finite, default=1.0),
                    f"{unit} per round")  # fmt: skip
    bottom.axes(True)
    bottom.band(steps, b_low, b_high, GREY)
    bottom.line(steps, b_mean, GREY)
    return head + "".join(top.parts + bottom.parts) + "</svg>"


def _title(run: TrainingRun) -> str:
    name = run.name or f"run {str(run.id)[:8]}"
    return f"{name}: PPO on {run.env}, mode {run.mode} ({run.state})"
