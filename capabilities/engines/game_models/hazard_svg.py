"""A mode's rug hazard as SVG: the fitted hazard by tick with its 95 % band and the
documented law drawn over it, which people read faster than the report's numbers."""

from __future__ import annotations

from html import escape

import numpy as np

from capabilities.engines.game_models.registry import ModelSet
from capabilities.engines.game_models.report import hazard_curve_points
from capabilities.engines.svg_chart import BLUE, LEFT, ORANGE, PANEL, TOP, WIDTH, Panel
from game.rules import GameRules

Y_ROOM = 1.5  # the y axis ends at this multiple of the largest estimate or documented value


def hazard_svg(models: ModelSet, rules: GameRules) -> str:
    ticks, curve = hazard_curve_points(models, rules)
    documented = np.asarray(rules.hazard(ticks), dtype=np.float64)
    top_value = min(1.0, Y_ROOM * max(float(curve[0].max()), float(documented.max())))
    clipped = np.minimum(curve, top_value)  # the late bands' intervals are wide
    height = TOP + PANEL + 60
    fitted = models.source in ("fitted", "pooled")
    basis = {
        "fitted": f"fitted from {models.rounds} rounds ({models.version})",
        "pooled": f"{models.rounds} rounds pooled with other modes ({models.version})",
    }.get(models.source, "documented rules (no rounds stored)")
    title = f"{models.mode}: rug hazard per tick, {basis}"
    panel = Panel(TOP, float(ticks[-1]), 0.0, top_value, "P(rug at tick | alive before it)")
    panel.axes("tick")
    x = [float(t) for t in ticks]
    if fitted:
        panel.band(x, clipped[1].tolist(), clipped[2].tolist(), BLUE)
        panel.line(x, clipped[0].tolist(), BLUE)
        panel.legend(WIDTH - 430, f"{models.source}, 95 % band", BLUE)
    panel.line(x, documented.tolist(), ORANGE, "6 4")
    law = "documented " + (f"{rules.rug_prob:g}" if rules.hazard_slope == 0 else "law")
    panel.legend(WIDTH - 250, law, ORANGE, "6 4")
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="{LEFT}" y="18" font-size="13">{escape(title)}</text>')  # fmt: skip
    return head + "".join(panel.parts) + "</svg>"
