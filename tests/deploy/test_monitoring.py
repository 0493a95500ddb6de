"""The Grafana dashboard and the Prometheus alert rules name only series the service's
processes export, and the rules cover what operations asked for."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
RULES = yaml.safe_load((ROOT / "deploy/prometheus/rules.yml").read_text())
DASHBOARD = json.loads((ROOT / "deploy/grafana/agent-service.json").read_text())
METRIC_MODULES = (
    "agent_service.metrics",
    "capabilities.engines.runtime.metrics",
    "capabilities.engines.jobs.metrics",
    "capabilities.hybrid.log",
    "tools.llm.metrics",
)
_SERIES = re.compile(r"\b(agent_[a-z0-9_]+)\b")
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
}


def _series(families) -> set[str]:
    return {f.name + suffix for f in families for suffix in _SUFFIXES.get(f.type, ("",))}


def exported() -> set[str]:
    """Every series name the API, the workers and the consumer can expose."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    from agent_service.cli.consume import ConsumerCollector
    from tools.consumer import ConsumerStats

    names = _series(REGISTRY.collect())
    return names | _series(ConsumerCollector(ConsumerStats()).collect())


def _rules() -> list[dict]:
    return [rule for group in RULES["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    return [t["expr"] for p in DASHBOARD["panels"] for t in p["targets"]]


def test_every_expression_names_an_exported_series():
    known = exported()
    assert {"agent_llm_budget_used_ratio", "agent_consumer_seconds_since_commit"} <= known
    exprs = [r["expr"] for r in _rules()] + _dashboard_exprs()
    for expr in exprs:
        names = _SERIES.findall(expr)
        assert names or re.search(r"\bup\{", expr), expr
        unknown = [n for n in names if n not in known]
        assert not unknown, f"{expr}: {unknown} not exported"


def test_the_alerts_cover_operations_needs():
    exprs = {r["alert"]: r["expr"] for r in _rules()}
    wanted = {
        "not ready": "agent_backend_up",
        "5xx rate": 'status=~"5.."',
        "decide p99": 'route="/v1/hybrid/decide"',
        "LLM fallbacks": "agent_llm_fallbacks_total",
        "budget near cap": "agent_llm_budget_used_ratio",
        "consumer lag": "agent_consumer_seconds_since_commit",
        "dead letters": "agent_consumer_dead_lettered_total",
    }
    for need, needle in wanted.items():
        assert any(needle in expr for expr in exprs.values()), need
    for rule in _rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


def test_the_dashboard_is_importable():
    assert DASHBOARD["uid"] and DASHBOARD["panels"]
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])


def test_the_budget_gauge_follows_spend(app):
    from capabilities.engines.runtime.budget import Budget, BudgetPolicy

    database = app.extensions["agent"].backends.database  # migrated by the app
    budget = Budget(database, BudgetPolicy(request_tokens=100, daily_tokens=1000))
    assert budget.reserve("00000000-0000-0000-0000-00000000ba5e", cost_usd=0.0, ttl_s=60)
    try:
        budget.use()
        ratio = REGISTRY.get_sample_value(
            "agent_llm_budget_used_ratio", {"period": "day", "unit": "tokens"}
        )
        assert ratio is not None and ratio >= 0.1  # at least this reservation of 100 in 1000
    finally:
        budget.release("00000000-0000-0000-0000-00000000ba5e")
