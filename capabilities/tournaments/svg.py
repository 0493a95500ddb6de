"""A tournament's standings as SVG (plain strings, like the training curves): each
entrant's PnL per round with its 95 % interval, best first, entrants the tests could not
separate on a shaded band, and the zero line."""

from __future__ import annotations

from html import escape

from capabilities.engines.svg_chart import BLUE, GREY, nice, ticks
from capabilities.tournaments.models import Tournament

WIDTH, LEFT, RIGHT, TOP, ROW = 760, 150, 30, 50, 26


def intervals_svg(t: Tournament) -> str:
    result = t.result
    rows = result.entrants if result else []
    height = TOP + ROW * max(len(rows), 1) + 50
    title = f"tournament {str(t.id)[:8]}, mode {t.mode} ({t.state})"
    if result:
        title += f": {result.rounds} rounds, {result.status.replace('_', ' ')}"
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="{LEFT}" y="18" font-size="13">{escape(title)}</text>')  # fmt: skip
    if not rows or result is None:
        return head + f'<text x="{LEFT}" y="{TOP + 20}">no rounds merged yet</text></svg>'
    values = [v for e in rows for v in (e.pnl.low, e.pnl.high, e.pnl.mean) if v is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    pad = (high - low) * 0.05 or 0.05
    low, high = low - pad, high + pad

    def x(v: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (v - low) / (high - low)

    parts = []
    group_of = {name: g for g, names in enumerate(result.ranking) for name in names}
    for i, e in enumerate(rows):
        y = TOP + ROW * i + ROW / 2
        if len(result.ranking[group_of.get(e.name, 0)]) > 1 and group_of.get(e.name, 0) % 2 == 0:
            parts.append(f'<rect x="{LEFT}" y="{y - ROW / 2:.1f}" width="{WIDTH - LEFT - RIGHT}" '
                         f'height="{ROW}" fill="#f1f4f8"/>')  # fmt: skip
        elif len(result.ranking[group_of.get(e.name, 0)]) > 1:
            parts.append(f'<rect x="{LEFT}" y="{y - ROW / 2:.1f}" width="{WIDTH - LEFT - RIGHT}" '
                         f'height="{ROW}" fill="#f8f3ee"/>')  # fmt: skip
        rank = f"{e.rank_range[0]}" if e.rank_range[0] == e.rank_range[1] else (
            f"{e.rank_range[0]}-{e.rank_range[1]}")  # fmt: skip
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{escape(e.name)} (#{rank})</text>")  # fmt: skip
        if e.pnl.low is not None and e.pnl.high is not None:
            parts.append(f'<line x1="{x(e.pnl.low):.1f}" x2="{x(e.pnl.high):.1f}" y1="{y:.1f}" '
                         f'y2="{y:.1f}" stroke="{BLUE}" stroke-width="2"/>')  # fmt: skip
        if e.pnl.mean is not None:
            parts.append(f'<circle cx="{x(e.pnl.mean):.1f}" cy="{y:.1f}" r="4" fill="{BLUE}"/>')
    bottom = TOP + ROW * len(rows)
    parts.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{TOP}" y2="{bottom}" '
                 f'stroke="{GREY}" stroke-dasharray="4 3"/>')  # fmt: skip
    for v in ticks(low, high):
        if low <= v <= high:
            parts.append(f'<text x="{x(v):.1f}" y="{bottom + 16}" text-anchor="middle">'
                         f"{nice(v)}</text>")  # fmt: skip
    parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{bottom + 36}" text-anchor="middle">'
                 "PnL per round (SOL), mean and 95 % interval; shaded: order unresolved"
                 "</text>")  # fmt: skip
    return head + "".join(parts) + "</svg>"
