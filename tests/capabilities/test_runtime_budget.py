"""Budgets: per request, per day and per month, atomic under concurrency."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from capabilities.engines.runtime import BudgetPolicy
from capabilities.engines.runtime.budget import Budget
from tests.capabilities.sample import SampleRequest, sample_capability
from tests.support.fake_llm import FakeLLM, call, final

TEXT = "Rounds rug at tick 200.0 on average and 20% rug before tick 50."


def test_daily_token_cap_reached_gives_deterministic_answers_marked(database, make_runtime):
    script = [call("mean_rug_tick"), final(TEXT)]  # 2 calls x 120 tokens
    with FakeLLM([*script, final(TEXT)]) as llm:
        runtime = make_runtime(llm.spec, budget=BudgetPolicy(request_tokens=300, daily_tokens=500))
        first = runtime.run(sample_capability(database), SampleRequest())
        second = runtime.run(sample_capability(database), SampleRequest())
    assert first.generated_by == "model:openai:fake-model"
    # 240 spent + 300 reserved for the next request would pass 500
    assert (second.generated_by, second.fallback_reason) == ("deterministic", "budget")
    assert second.rug_rate == 0.2
    assert len(llm.received) == 2
    use = runtime.budget.use()
    assert (use.today.tokens, use.month.tokens, use.reserved.tokens) == (240, 240, 0)


def test_cost_is_priced_per_model_and_capped(database, make_runtime):
    with FakeLLM([final(TEXT), final(TEXT)]) as llm:
        runtime = make_runtime(
            llm.spec,
            prices="fake-model=1.0/2.0",  # USD per 1k tokens: one call = 0.1 + 0.04
            budget=BudgetPolicy(request_tokens=100, monthly_cost_usd=0.25),
        )
        first = runtime.run(sample_capability(database), SampleRequest())
        second = runtime.run(sample_capability(database), SampleRequest())
    assert first.generated_by == "model:openai:fake-model"
    assert second.fallback_reason == "budget"  # 0.14 spent + 0.2 worst case > 0.25
    assert abs(runtime.budget.use().month.cost_usd - 0.14) < 1e-9


def test_concurrent_reservations_never_pass_the_cap(database):
    budget = Budget(database, BudgetPolicy(request_tokens=300, daily_tokens=1000))
    with ThreadPoolExecutor(8) as pool:
        granted = list(
            pool.map(lambda _: budget.reserve(str(uuid.uuid4()), cost_usd=0.0, ttl_s=60), range(8))
        )
    assert sum(granted) == 3
    assert budget.use().reserved.tokens == 900


def test_released_and_expired_reservations_free_the_budget(database):
    budget = Budget(database, BudgetPolicy(request_tokens=600, daily_tokens=1000))
    first = str(uuid.uuid4())
    assert budget.reserve(first, cost_usd=0.0, ttl_s=60)
    assert not budget.reserve(str(uuid.uuid4()), cost_usd=0.0, ttl_s=60)
    budget.release(first)
    assert budget.reserve(str(uuid.uuid4()), cost_usd=0.0, ttl_s=0.01)
    with database.connection() as conn:
        conn.execute("SELECT pg_sleep(0.05)")
    assert budget.reserve(str(uuid.uuid4()), cost_usd=0.0, ttl_s=60)  # the last one expired
