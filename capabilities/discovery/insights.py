"""Feature discovery's findings as a short Markdown summary in the knowledge base's
`agent_insights` collection, one source per mode and targets (a re-run replaces it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capabilities.discovery.service import TargetReport
from tools.errors import BackendUnavailable
from tools.knowledge import KnowledgeBase

COLLECTION = "agent_insights"
LISTED = 10  # predictive features listed per target


def insight_source(mode: str, targets: Sequence[str]) -> str:
    return f"discovery/{mode}/{'+'.join(targets)}"


def summary_markdown(
    mode: str, rounds: int, fdr: float, horizon: int, reports: Sequence[TargetReport]
) -> str:
    lines = [
        f"# Feature discovery: {mode}",
        "",
        f"Feature discovery over the latest {rounds} stored rounds of the {mode} mode "
        f"(false-discovery rate {fdr} per target, rug horizon {horizon} ticks).",
    ]
    for report in reports:
        lines += ["", f"## {report.target.replace('_', ' ')}", "", report.statement]
        listed = report.predictive[:LISTED]
        if listed:
            lines += [
                "",
                "| feature | expression | effect | lift | q-value |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {f.name} | `{f.expression}` | {f.score.effect:.4f} | {f.score.lift:.5f} "
                f"| {f.q_value:.3g} |"
                for f in listed
            ]
    return "\n".join(lines) + "\n"


def store_insights(
    knowledge: KnowledgeBase | None,
    mode: str,
    rounds: int,
    fdr: float,
    horizon: int,
    reports: Sequence[TargetReport],
) -> dict[str, Any]:
    """Write the summary; never raises for a missing or unavailable knowledge base."""
    source = insight_source(mode, [r.target for r in reports])
    if knowledge is None:
        return {
            "insights_stored": False,
            "insights_error": "this process has no knowledge base (a worker without QDRANT_URL)",
        }
    text = summary_markdown(mode, rounds, fdr, horizon, reports)
    try:
        knowledge.ingest_text(
            text, COLLECTION, source=source, extra={"topic": "feature_discovery", "mode": mode}
        )
    except BackendUnavailable as exc:
        return {"insights_stored": False, "insights_error": str(exc)}
    return {"insights_stored": True, "insights_source": source}
