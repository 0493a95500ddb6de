"""The capability runtime built from settings, once per process (after the fork)."""

from __future__ import annotations

from agent_service.config import Settings
from capabilities.engines.runtime import BudgetPolicy, Runtime, RuntimePolicy
from tools.postgres import Database


def runtime_policy(settings: Settings) -> RuntimePolicy:
    return RuntimePolicy(
        max_steps=settings.llm_max_steps,
        budget_s=settings.llm_budget_s,
        cache_ttl_s=settings.cache_ttl_s,
        router_min_outcomes=settings.llm_router_min_outcomes,
        budget=BudgetPolicy(
            request_tokens=settings.llm_request_token_cap,
            daily_tokens=settings.llm_daily_token_cap,
            monthly_tokens=settings.llm_monthly_token_cap,
            daily_cost_usd=settings.llm_daily_cost_cap,
            monthly_cost_usd=settings.llm_monthly_cost_cap,
        ),
    )


def build_runtime(settings: Settings, database: Database) -> Runtime:
    """Nothing is contacted here: models are built on first use (and smolagents is
    imported only when a model is configured)."""
    models: tuple = ()
    if settings.llm_config.models:
        from tools.llm.models import build_chain

        models = build_chain(settings.llm_config)
    return Runtime(
        database=database,
        models=models,
        policy=runtime_policy(settings),
    )
