"""Runtime fixtures: the session database migrated once, runtime tables emptied per test,
and a runtime factory over a chain of fake LLM servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import psycopg
import pytest

from capabilities.engines.runtime import BudgetPolicy, Runtime, RuntimePolicy
from tests.capabilities.sample import load_rounds
from tools.llm import LLMConfig, parse_models, parse_prices
from tools.llm.models import build_chain
from tools.migrations import migrate
from tools.postgres import Database

RUNTIME_TABLES = (
    "agent_runs, agent_steps, agent_tool_calls, llm_spend, llm_reservations, llm_outcomes,"
    " answer_cache"
)


@pytest.fixture(scope="session")
def runtime_database(pg_dsn: str) -> Iterator[Database]:
    with psycopg.connect(pg_dsn) as conn:
        migrate(conn)
    database = Database(pg_dsn, max_size=6)
    yield database
    database.close()


@pytest.fixture
def database(runtime_database: Database) -> Database:
    with runtime_database.connection() as conn:
        conn.execute(f"TRUNCATE {RUNTIME_TABLES}")
    load_rounds(runtime_database)
    return runtime_database


MakeRuntime = Callable[..., Runtime]


@pytest.fixture
def make_runtime(database: Database) -> MakeRuntime:
    def make(
        models: str = "",
        *,
        prices: str = "",
        timeout_s: float = 5.0,
        budget: BudgetPolicy | None = None,
        **policy: object,
    ) -> Runtime:
        priced = parse_prices(prices)
        specs = tuple(
            replace(s, price=priced.get(s.model_id, s.price)) for s in parse_models(models)
        )
        config = LLMConfig(models=specs, timeout_s=timeout_s, retries=0)
        return Runtime(
            database=database,
            models=build_chain(config),
            policy=RuntimePolicy(budget=budget or BudgetPolicy(), **policy),  # type: ignore[arg-type]
        )

    return make
