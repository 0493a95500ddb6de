"""Prometheus series of the runtime (rendered by the service's `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TOOL_CALLS = Counter(
    "agent_tool_calls_total", "Agent tool calls by tool and outcome (ok|error)", ["tool", "outcome"]
)
TOOL_SECONDS = Histogram(
    "agent_tool_call_duration_seconds",
    "Agent tool call duration by tool",
    ["tool"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
)
FALLBACKS = Counter(
    "agent_llm_fallbacks_total",
    "Model attempts that did not deliver, by capability and reason",
    ["capability", "reason"],
)
ANSWERS = Counter(
    "agent_answers_total",
    "Capability answers by capability and producer (deterministic|model)",
    ["capability", "producer"],
)
CACHE = Counter(
    "agent_answer_cache_total",
    "Answer cache lookups by capability and result",
    ["capability", "result"],
)
BUDGET_USED = Gauge(
    "agent_llm_budget_used_ratio",
    "Language-model spend (with live reservations) over its cap, by period and unit; "
    "set where a cap is configured, each time the budget is read",
    ["period", "unit"],
    multiprocess_mode="livemax",
)
