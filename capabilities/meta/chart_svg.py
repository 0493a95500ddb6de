"""The adapt answer's chart: each parameter's estimate against the target's rounds, its
own (with 95 % band) and pooled across modes (with 95 % band), as plain SVG strings."""

from __future__ import annotations

import math
from html import escape

from capabilities.engines.svg_chart import BLUE, GAP, LEFT, ORANGE, PANEL, TOP, WIDTH, Panel
from capabilities.meta.models import AdaptAnswer, ParameterEstimate


def _series(
    points: list[tuple[int, ParameterEstimate]], own: bool
) -> tuple[list[float], list[float], list[float], list[float]]:
    x, mean, low, high = [], [], [], []
    for rounds, e in points:
        if own:
            if e.own is None or e.own_ci95 is None:
                continue
            values = (e.own, e.own_ci95[0], e.own_ci95[1])
        else:
            values = (e.pooled, e.pooled_ci95[0], e.pooled_ci95[1])
        if not all(v is not None and math.isfinite(v) for v in values):
            continue
        x.append(float(rounds))
        mean.append(values[0])
        low.append(values[1])
        high.append(values[2])
    return x, mean, low, high


def adapt_svg(answer: AdaptAnswer) -> str:
    height = TOP + 2 * PANEL + GAP + 50
    title = f"mode {answer.mode}: estimates vs its rounds, alone and pooled across modes"
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="{LEFT}" y="18" font-size="13">{escape(title)}</text>')  # fmt: skip
    parts: list[str] = []
    x_max = float(max((p.rounds for p in answer.trajectory), default=1))
    for i, (name, label) in enumerate(
        (("hazard", "rug hazard per tick"), ("drift", "mean return per tick"))
    ):
        points = [(p.rounds, getattr(p, name)) for p in answer.trajectory]
        own, pooled = _series(points, True), _series(points, False)
        values = [v for s in (own, pooled) for v in s[2] + s[3]]
        panel = Panel(TOP + i * (PANEL + GAP), x_max, min(values, default=0.0),
                      max(values, default=1.0), label)  # fmt: skip
        panel.axes("rounds of the mode" if i == 1 else "")
        for (x, mean, low, high), color, dash in ((own, BLUE, "6 4"), (pooled, ORANGE, "")):
            if x:
                panel.band(x, low, high, color)
                panel.line(x, mean, color, dash)
        panel.legend(WIDTH - 330, "own rounds only", BLUE, "6 4")
        panel.legend(WIDTH - 190, "pooled across modes", ORANGE)
        parts += panel.parts
    return head + "".join(parts) + "</svg>"
