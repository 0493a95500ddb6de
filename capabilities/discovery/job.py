"""Feature discovery as a job (`features.discover`): the request, and the handler that
loads stored rounds, asks a language model for candidates (when one is configured),
scores every candidate, stores a summary in `agent_insights` and returns the report."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from capabilities.discovery.expressions import ExpressionError, parse
from capabilities.discovery.history import load_panel
from capabilities.discovery.insights import store_insights
from capabilities.discovery.panel import TRADE_SERIES
from capabilities.discovery.proposals import ProposalRequest, propose
from capabilities.discovery.service import UNIT_FEATURES, TargetReport, discover, library
from capabilities.jobs import Progress, handler
from capabilities.jobs.context import job_database, job_knowledge, job_runtime, job_tools
from capabilities.rules import cross_field_rules, rule_broken
from capabilities.runtime import Runtime
from capabilities.state import ModeName
from tools.errors import BackendUnavailable

KIND = "features.discover"
Target = Literal["rug_within", "next_return_sign", "next_return_size", "player_next_action"]
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,39}$"  # a proposed feature's name
REPORTED = 25  # features per target in the result, best first


class DiscoverRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=cross_field_rules(
            "each proposed expression parses in the feature language (docs/models.md) over "
            "tick, price, sidebets and the trade series"
        ),
    )

    mode: ModeName = "classic"
    targets: list[Target] = Field(
        default_factory=lambda: ["rug_within", "next_return_size", "player_next_action"],
        min_length=1,
        max_length=4,
        json_schema_extra={"uniqueItems": True},
    )
    horizon: int = Field(40, ge=1, le=500, description="N of the target 'rug within N ticks'")
    rounds: int = Field(1000, ge=50, le=20_000, description="latest stored rounds to mine")
    fdr: float = Field(0.05, gt=0, le=0.2, description="false-discovery rate per target")
    proposed: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="extra candidates: name -> expression in the feature language",
        json_schema_extra={"propertyNames": {"pattern": NAME_PATTERN}},
    )
    llm_candidates: bool = Field(
        True, description="let the configured language model propose candidates too"
    )

    @field_validator("targets")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise rule_broken("targets must not repeat")
        return value

    @field_validator("proposed")
    @classmethod
    def _parsable(cls, value: dict[str, str]) -> dict[str, str]:
        names = {"tick", "price", "sidebets", *TRADE_SERIES}
        for name, text in value.items():
            if not re.fullmatch(NAME_PATTERN, name):
                raise ValueError(f"{name!r}: names are identifiers of at most 40 characters")
            try:
                parse(text, names)
            except ExpressionError as exc:
                raise rule_broken(f"{name}: {exc}") from None
        return value


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
