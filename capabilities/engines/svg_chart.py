"""SVG charts written as plain strings (no plotting library on the web path): the
panel, its axes and series that the learning curves and the hazard curves draw with."""

from __future__ import annotations

import math
from html import escape

WIDTH, PANEL, GAP, LEFT, RIGHT, TOP = 760, 190, 50, 70, 20, 40
BLUE, GREY, ORANGE = "#1f5fa8", "#888888", "#c0641e"


def nice(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value / 1000:g}k" if abs(value) < 1e6 else f"{value / 1e6:g}M"
    return f"{value:.3g}"


def ticks(low: float, high: float, n: int = 5) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / n
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


class Panel:
    """One plot area: data -> pixel transforms, axes and series."""

    def __init__(self, top: float, x_max: float, y_low: float, y_high: float, label: str) -> None:
        pad = (y_high - y_low) * 0.08 or 0.05
        self.top, self.x_max = top, max(x_max, 1.0)
        self.y_low, self.y_high = y_low - pad, y_high + pad
        self.label = label
        self.parts: list[str] = []

    def x(self, step: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * step / self.x_max

    def y(self, value: float) -> float:
        share = (value - self.y_low) / (self.y_high - self.y_low)
        return self.top + PANEL * (1 - share)

    def axes(self, x_label: str = "") -> None:
        p = self.parts
        p.append(f'<rect x="{LEFT}" y="{self.top}" width="{WIDTH - LEFT - RIGHT}" '
                 f'height="{PANEL}" fill="none" stroke="#ccc"/>')  # fmt: skip
        for v in ticks(self.y_low, self.y_high):
            y = self.y(v)
            p.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#eee"/><text x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{nice(v)}</text>')  # fmt: skip
        for s in ticks(0, self.x_max):
            x = self.x(s)
            p.append(f'<text x="{x:.1f}" y="{self.top + PANEL + 16}" '
                     f'text-anchor="middle">{nice(s)}</text>')  # fmt: skip
        p.append(f'<text x="{LEFT}" y="{self.top - 8}" font-weight="bold">'
                 f"{escape(self.label)}</text>")  # fmt: skip
        if x_label:
            p.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{self.top + PANEL + 36}" '
                     f'text-anchor="middle">{escape(x_label)}</text>')  # fmt: skip

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
