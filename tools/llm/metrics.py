"""Prometheus series of language-model calls (rendered by the service's `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LLM_CALLS = Counter(
    "agent_llm_calls_total", "Language-model calls by model and outcome", ["model", "outcome"]
)
LLM_TOKENS = Counter(
    "agent_llm_tokens_total", "Tokens by model and direction (input|output)", ["model", "direction"]
)
LLM_LATENCY = Histogram(
    "agent_llm_call_duration_seconds",
    "Language-model call latency by model",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
