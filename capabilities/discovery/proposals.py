"""Candidate features proposed by a language model (through the capability runtime).

The agent sees the evidence: the panel's series, the feature language (grammar,
functions, window lengths), the built-in library and compact figures of the data. It
answers `{summary, candidates: {name: expression}}`, bounded by pydantic. Every
expression is then parsed with our parser (never executed as Python): valid ones are
scored with the other candidates, invalid ones are rejected with the parser's reason.
Without a model the runtime's deterministic answer proposes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from capabilities.discovery import expressions
from capabilities.discovery.expressions import ExpressionError, parse
from capabilities.discovery.models import (
    MAX_CANDIDATES,
    ProposalNarrative,
    ProposalRequest,
    Proposals,
)
from capabilities.discovery.panel import Panel
from capabilities.discovery.service import library
from capabilities.engines.runtime import Capability, Runtime
from capabilities.engines.runtime import Evidence as Gathered

if TYPE_CHECKING:
    from smolagents import Tool

KIND = "features.propose"


def _figure(value: float) -> float:
    return float(f"{value:.4g}")


def data_figures(panel: Panel) -> dict[str, Any]:
    """Compact figures of the panel: rug ticks and per-series quantiles over live ticks."""
    rug = panel.rug_tick.astype(np.float64)
    out: dict[str, Any] = {
        "rounds": panel.rounds,
        "rug_tick_p10_p50_p90": [_figure(v) for v in np.percentile(rug, [10, 50, 90])],
    }
    for name in sorted(panel.names):
        values = panel.series[name]
        live = values[np.isfinite(values)]
        if live.size:
            qs = np.percentile(live, [10, 50, 90])
            out[f"{name}_p10_p50_p90"] = [_figure(v) for v in qs]
    return out


def language() -> dict[str, Any]:
    """The feature language as the agent must write it."""
    return {
        "grammar": (expressions.__doc__ or "").strip(),
        "elementwise_functions_and_arity": dict(expressions.ELEMENTWISE),
        "window_functions_fn_series_window": sorted(expressions.WINDOWED),
        "cumulative_functions": sorted(expressions.CUMULATIVE),
        # windows are integer literals; listed so the expressions' numbers are grounded
        "window_lengths": list(range(1, expressions.MAX_WINDOW + 1)),
        "max_characters": expressions.MAX_LENGTH,
        "max_parts": expressions.MAX_NODES,
    }


def proposal_capability(
    panel: Panel, tools: Sequence[Tool] = ()
) -> Capability[ProposalRequest, Proposals]:
    def _gather(request: ProposalRequest, found: Gathered) -> None:
        found.add("series", sorted(panel.names))
        found.add("feature_language", language())
        found.add("builtin_candidates", library(panel))
        found.add("data", data_figures(panel))

    def _compute(request: ProposalRequest, found: Gathered) -> Proposals:
        return Proposals()

    return Capability(
        name=KIND,
        response_model=Proposals,
        gather=_gather,
        compute=_compute,
        narrate=True,
        narrative_model=ProposalNarrative,
        instructions=(
            f"Propose up to {MAX_CANDIDATES} new candidate features that might predict the "
            "requested targets, as `candidates` {name: expression}: names are identifiers "
            "of at most 40 characters not used by the built-in candidates, expressions use "
            "only the listed series and functions of the feature language (window lengths "
            "are integer literals). In `summary`, say briefly why each might help."
        ),
        budget_s=60.0,
        tools=tools,
    )


def screen(
    candidates: dict[str, str], names: frozenset[str], taken: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(accepted, rejected with the reason): each expression parsed by our parser."""
    accepted: dict[str, str] = {}
    rejected: dict[str, str] = {}
    for name, text in candidates.items():
        if name in taken:
            rejected[name] = "name already used by a built-in or requested candidate"
            continue
        try:
            parse(text, names)
        except ExpressionError as exc:
            rejected[name] = str(exc)
            continue
        accepted[name] = text
    return accepted, rejected


def propose(
    runtime: Runtime | None,
    panel: Panel,
    request: ProposalRequest,
    taken: set[str],
    tools: Sequence[Tool] = (),
) -> tuple[dict[str, str], dict[str, Any]]:
    """(valid proposals, the report of what happened) -- with no runtime or no model
    configured, nothing is proposed and the report says `no_llm`."""
    if runtime is None or not runtime.models:
        report = {"generated_by": "deterministic", "fallback_reason": "no_llm"}
        return {}, {**report, "accepted": [], "rejected": {}}
    answer = runtime.run(proposal_capability(panel, tools), request)
    accepted, rejected = screen(answer.candidates, panel.names, taken)
    return accepted, {
        "generated_by": answer.generated_by,
        "fallback_reason": answer.fallback_reason,
        "summary": answer.summary,
        "accepted": sorted(accepted),
        "rejected": rejected,
    }
