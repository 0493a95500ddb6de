"""Feature discovery as a job (`features.discover`): the request, and the handler that
loads stored rounds, asks a language model for candidates (when one is configured),
scores every candidate, stores a summary in `agent_insights` and returns the report."""

from __future__ import annotations

from typing import Any

from capabilities.discovery.history import load_panel
from capabilities.discovery.insights import store_insights
from capabilities.discovery.models import DiscoverRequest, ProposalRequest
from capabilities.discovery.proposals import propose
from capabilities.discovery.service import UNIT_FEATURES, TargetReport, discover, library
from capabilities.engines.jobs import Progress, handler
from capabilities.engines.jobs.context import job_database, job_knowledge, job_runtime, job_tools
from capabilities.engines.runtime import Runtime
from tools.errors import BackendUnavailable

KIND = "features.discover"
REPORTED = 25  # features per target in the result, best first


def report_json(report: TargetReport) -> dict[str, Any]:
    return {
        "target": report.target,
        "statement": report.statement,
        "units": report.units,
        "positives_share": report.positives_share,
        "predictive": len(report.predictive),
        "features": [
            {
                "name": f.name,
                "expression": f.expression,
                "origin": f.origin,
                "predictive": f.predictive,
                "effect": round(f.score.effect, 4),
                "lift": round(f.score.lift, 5),
                "p_value": f.score.p_value,
                "q_value": f.q_value,
                "stability": f.score.stability,
                "units_train": f.score.units_train,
                "units_test": f.score.units_test,
            }
            for f in report.findings[:REPORTED]
        ],
    }


def _runtime() -> Runtime | None:
    try:
        return job_runtime()
    except RuntimeError:  # this process registered no runtime for jobs
        return None


def _insights(request: DiscoverRequest, rounds: int, reports: list[TargetReport]) -> dict[str, Any]:
    try:
        knowledge = job_knowledge()
    except BackendUnavailable as exc:
        return {"insights_stored": False, "insights_error": str(exc)}
    return store_insights(knowledge, request.mode, rounds, request.fdr, request.horizon, reports)


@handler(KIND)
def discover_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    request = DiscoverRequest.model_validate(payload)
    with job_database().connection() as conn:
        panel = load_panel(conn, request.mode, request.rounds)
    progress(0.1, f"loaded {panel.rounds} rounds of {request.mode}")
    asked = ProposalRequest(mode=request.mode, targets=list(request.targets),
                            horizon=request.horizon, rounds=panel.rounds)  # fmt: skip
    runtime = _runtime() if request.llm_candidates else None
    llm, llm_report = propose(
        runtime,
        panel,
        asked,
        taken={*library(panel), *UNIT_FEATURES, *request.proposed},
        tools=job_tools() if runtime is not None else (),
    )
    if not request.llm_candidates:
        llm_report["fallback_reason"] = "not_requested"
    progress(0.2, f"{len(llm)} candidates proposed by a language model")
    reports, rejected = discover(
        panel,
        request.targets,
        horizon=request.horizon,
        fdr=request.fdr,
        proposed={**request.proposed, **llm},
        progress=lambda f, m: progress(0.2 + 0.75 * f, m),
    )
    return {
        "mode": request.mode,
        "rounds": panel.rounds,
        "fdr": request.fdr,
        "targets": [report_json(r) for r in reports],
        "rejected_proposals": {**rejected, **llm_report["rejected"]},
        "llm_proposals": llm_report,
        **_insights(request, panel.rounds, reports),
    }
