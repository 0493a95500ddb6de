"""The runtime without a language model, and the answer cache."""

from __future__ import annotations

from capabilities.engines.runtime.cache import input_hash
from tests.capabilities.sample import SampleRequest, load_rounds, sample_capability
from tests.support.fake_llm import FakeLLM, final


def _count(database, sql, *params):
    with database.connection() as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_no_llm_configured_gives_the_deterministic_answer_marked(database, make_runtime):
    answer = make_runtime().run(sample_capability(database), SampleRequest(threshold=100))
    assert (answer.generated_by, answer.fallback_reason) == ("deterministic", "no_llm")
    assert (answer.mean_rug_tick, answer.rug_rate, answer.rounds) == (200.0, 0.3, 10)
    assert answer.evidence == ["mean_rug_tick", "rug_rate"]
    assert answer.summary is None and answer.cached is False
    recorded = _count(
        database,
        "SELECT count(*) FROM agent_tool_calls WHERE run_id = %s AND attempt = 0 AND ok",
        answer.run_id,
    )
    assert recorded == 2


def test_a_capability_that_does_not_narrate_has_no_fallback_reason(database, make_runtime):
    answer = make_runtime().run(sample_capability(database, narrate=False), SampleRequest())
    assert (answer.generated_by, answer.fallback_reason) == ("deterministic", None)


def test_cache_hit_is_marked_and_skips_the_tools(database, make_runtime):
    runtime = make_runtime()
    capability = sample_capability(database, cache_ttl_s=60)
    first = runtime.run(capability, SampleRequest())
    second = runtime.run(capability, SampleRequest(threshold=50))  # the same normalized input
    assert (first.cached, second.cached) == (False, True)
    assert second.model_dump(exclude={"cached", "run_id"}) == first.model_dump(
        exclude={"cached", "run_id"}
    )
    assert second.run_id != first.run_id
    assert _count(database, "SELECT count(*) FROM agent_tool_calls") == 2  # first run only
    assert _count(database, "SELECT count(*) FROM agent_runs WHERE cached") == 1


def test_new_data_changes_the_data_version_and_misses_the_cache(database, make_runtime):
    runtime = make_runtime()
    capability = sample_capability(database, cache_ttl_s=60)
    assert runtime.run(capability, SampleRequest()).mean_rug_tick == 200.0
    load_rounds(database, (100, 300))
    fresh = runtime.run(capability, SampleRequest())
    assert (fresh.cached, fresh.mean_rug_tick, fresh.rounds) == (False, 200.0, 2)
    load_rounds(database, (10, 20))
    assert runtime.run(capability, SampleRequest()).mean_rug_tick == 15.0


def test_expired_entries_are_not_served(database, make_runtime):
    runtime = make_runtime()
    capability = sample_capability(database, cache_ttl_s=60)
    runtime.run(capability, SampleRequest())
    with database.connection() as conn:
        conn.execute("UPDATE answer_cache SET expires_at = now() - interval '1 second'")
    assert runtime.run(capability, SampleRequest()).cached is False


def test_a_model_answer_is_cached_and_served_without_calling_the_model(database, make_runtime):
    text = "Rounds rug at tick 200.0 on average and 20% rug before tick 50."
    with FakeLLM([final(text)]) as llm:
        runtime = make_runtime(llm.spec)
        capability = sample_capability(database, cache_ttl_s=60)
        first = runtime.run(capability, SampleRequest())
        second = runtime.run(capability, SampleRequest())
    assert first.generated_by == second.generated_by == "model:openai:fake-model"
    assert (first.cached, second.cached, second.summary) == (False, True, text)
    assert len(llm.received) == 1


def test_a_transient_fallback_is_not_cached(database, make_runtime):
    with FakeLLM([]) as llm:  # every call answers 500
        runtime = make_runtime(llm.spec)
        capability = sample_capability(database, cache_ttl_s=60)
        first = runtime.run(capability, SampleRequest())
        second = runtime.run(capability, SampleRequest())
    assert first.fallback_reason == second.fallback_reason == "model_error"
    assert second.cached is False
    assert len(llm.received) == 2


def test_input_hash_is_canonical():
    assert input_hash(SampleRequest()) == input_hash(
        SampleRequest.model_validate({"threshold": 50})
    )
    assert input_hash(SampleRequest(threshold=51)) != input_hash(SampleRequest())
