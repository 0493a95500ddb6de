"""Knowledge passages checked against the mode's models before an answer quotes them.

A document may be written for one mode's rules (payload key `mode`; the starter
documents about the rug hazard, sidebets and prices are written for `classic`). Such a
passage states that mode's hazard law and sidebet terms as facts ("18.2 % at every
tick"), so it is only attached to an answer whose models agree: the hazard law of the
passage's mode is not rejected by the fitted hazard (the goodness-of-fit test of
GET /v1/models/game/{mode}, p >= 0.01), or, for a mode served from its rules, equals
them; and its sidebet terms are the mode's. Passages with no mode apply everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from capabilities.engines.game_models.registry import ModelSet
from capabilities.engines.game_models.truth import economics
from game.rules import ModeError, load_mode

REJECT_P = 0.01


def contradiction(written_for: str | None, models: ModelSet) -> str | None:
    """Why a passage written for mode `written_for` would mislead about `models`; None
    when it does not (or names no known mode, so nothing can be checked)."""
    if not written_for:
        return None
    try:
        written = load_mode(written_for)
    except ModeError:
        return None
    if models.hazard_model is not None:
        gof = models.hazard_model.goodness_of_fit(written.hazard)
        if gof.p_value < REJECT_P:
            return (
                f"written for {written_for}'s hazard law, which the {models.rounds} rounds "
                f"of {models.mode} reject (chi-square {gof.statistic:.1f}, df {gof.df}, "
                f"p = {gof.p_value:.2g}; fitted form: {models.hazard_model.kind})"
            )
    else:
        ticks = np.arange(1, load_mode(models.mode).max_ticks + 1)
        if not np.allclose(written.hazard(ticks), load_mode(models.mode).hazard(ticks)):
            return f"written for {written_for}'s hazard law; {models.mode}'s rules differ"
    if economics(written) != models.economics:
        return f"written for {written_for}'s sidebet terms; {models.mode}'s differ"
    return None


def select_passages(
    passages: list[dict[str, Any]], models: ModelSet, keep: int
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(the first `keep` passages that apply to `models`, those withheld with why)."""
    kept: list[dict[str, Any]] = []
    withheld: list[dict[str, str]] = []
    verdicts: dict[str | None, str | None] = {}  # one test per mode the passages name
    for passage in passages:
        mode = passage.get("mode")
        if mode not in verdicts:
            verdicts[mode] = contradiction(mode, models)
        reason = verdicts[mode]
        if reason is None:
            if len(kept) < keep:
                kept.append(passage)
        else:
            withheld.append({"source": passage.get("source", ""), "reason": reason})
    return kept, withheld
