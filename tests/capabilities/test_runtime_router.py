"""The self-learning router: profiles from recorded outcomes, and the chain it orders."""

from __future__ import annotations

import math

import pytest

from capabilities.engines.runtime.router import Profile, order_chain, profiles
from tests.capabilities.sample import SampleRequest, sample_capability
from tests.support.fake_llm import FakeLLM, final


def _outcomes(
    database, capability, model, n, *, success, g=1.0, latency_ms=1000.0, cost=0.0, age_days=0.0
):
    with database.connection() as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO llm_outcomes (capability, model, at, success, groundedness,"
            " latency_ms, cost_usd) VALUES (%s, %s, now() - make_interval(secs => %s),"
            " %s, %s, %s, %s)",
            [(capability, model, age_days * 86400, success, g, latency_ms, cost)] * n,
        )


def test_profile_follows_the_formula(database):
    _outcomes(database, "c", "hf:good", 20, success=True, g=1.0, latency_ms=10_000, cost=0.01)
    _outcomes(database, "c", "hf:bad", 5, success=False, g=0.0)
    found = {p.model: p for p in profiles(database, "c")}
    good, bad = found["hf:good"], found["hf:bad"]
    assert (good.n, good.base, good.confidence) == (20, 1.0, 1.0)
    assert good.expertise == pytest.approx(1.0 * 0.5 * 0.5)  # halved at 10 s and at one cent
    assert good.score == pytest.approx(0.3 + 0.5 * 0.25 + 0.2)
    assert (bad.n, bad.base, bad.expertise, bad.confidence) == (5, 0.0, 0.0, 0.25)
    assert bad.score == pytest.approx(0.2 * 0.25)


def test_recent_outcomes_weigh_three_times_and_older_ones_decay(database):
    _outcomes(database, "c", "hf:m", 10, success=True, age_days=30)
    _outcomes(database, "c", "hf:m", 10, success=False, age_days=1)
    (profile,) = profiles(database, "c")
    old = math.exp(-(30 - 7) / 14)
    assert profile.base == pytest.approx(10 * old / (10 * old + 10 * 3), rel=1e-4)
    assert profile.n == 20


def test_order_chain_reorders_only_qualified_models_among_their_slots():
    found = [
        Profile("c", "a", 30, 0.2, 0.1),
        Profile("c", "c", 30, 0.9, 0.9),
        Profile("c", "b", 3, 1.0, 1.0),  # too few outcomes: keeps its configured slot
    ]
    keys = ["a", "b", "c", "d"]
    assert order_chain(keys, keys, found, min_outcomes=10) == ["c", "b", "a", "d"]
    assert order_chain(keys, keys, found, min_outcomes=50) == keys


def test_the_runtime_tries_the_better_scored_model_first(database, make_runtime):
    text = "Rounds rug at tick 200.0 on average and 20% rug before tick 50."
    with (
        FakeLLM([final(text)], model="first") as first,
        FakeLLM([final(text)], model="second") as second,
    ):
        _outcomes(database, "sample_stats", "openai:first", 12, success=False, g=0.0)
        _outcomes(database, "sample_stats", "openai:second", 12, success=True, g=1.0)
        runtime = make_runtime(f"{first.spec},{second.spec}", router_min_outcomes=10)
        answer = runtime.run(sample_capability(database), SampleRequest())
    assert answer.generated_by == "model:openai:second"
    assert answer.fallback_reason is None
    assert first.received == []


def test_without_enough_outcomes_the_configured_order_holds(database, make_runtime):
    text = "Rounds rug at tick 200.0 on average."
    with (
        FakeLLM([final(text)], model="first") as first,
        FakeLLM([final(text)], model="second") as second,
    ):
        _outcomes(database, "sample_stats", "openai:second", 5, success=True)
        runtime = make_runtime(f"{first.spec},{second.spec}", router_min_outcomes=10)
        answer = runtime.run(sample_capability(database), SampleRequest())
    assert answer.generated_by == "model:openai:first"
    assert second.received == []
