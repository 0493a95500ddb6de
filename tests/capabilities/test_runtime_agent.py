"""The real smolagents loop against local chat-completions servers with scripted replies."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from jinja2 import UndefinedError

from capabilities.engines.runtime import BudgetPolicy, prompts
from tests.capabilities.sample import SampleRequest, sample_capability
from tests.support.fake_llm import FakeLLM, Reply, call, calls, error, final, hang


def _rows(database, sql, *params):
    with database.connection() as conn:
        return conn.execute(sql, params).fetchall()


GROUNDED = "Rounds rug at tick 200.0 on average; 20% rug before tick 50; 90% by tick 410."
# grounded in the gathered evidence alone (410 needs the agent's rug_quantile call)
BASIC = "Rounds rug at tick 200.0 on average and 20% rug before tick 50."


def test_two_tool_calls_then_a_grounded_answer(database, make_runtime):
    script = [
        call("mean_rug_tick"),
        call("rug_quantile", {"q": 0.9}),
        final({"summary": GROUNDED}),
    ]
    with FakeLLM(script) as llm:
        runtime = make_runtime(llm.spec)
        answer = runtime.run(sample_capability(database), SampleRequest())

    assert answer.generated_by == "model:openai:fake-model"
    assert answer.fallback_reason is None
    assert answer.summary == GROUNDED
    assert (answer.mean_rug_tick, answer.rug_rate, answer.rounds) == (200.0, 0.2, 10)
    assert answer.groundedness == 1.0
    # 410 exists only in the agent's own tool output, not in the gathered evidence
    assert ("410", "rug_quantile#2") in {(s.value, s.source) for s in answer.sources}
    assert len(llm.received) == 3
    assert [t["function"]["name"] for t in llm.received[0]["tools"]] == [
        "mean_rug_tick",
        "rug_rate",
        "rug_quantile",
        "final_answer",
    ]
    steps = _rows(
        database,
        "SELECT attempt, step_number, model, input_tokens, output_tokens, error, is_final"
        " FROM agent_steps WHERE run_id = %s ORDER BY step_number",
        answer.run_id,
    )
    assert [(s[0], s[1], s[2], s[3], s[4], s[6]) for s in steps] == [
        (1, 1, "openai:fake-model", 100, 20, False),
        (1, 2, "openai:fake-model", 100, 20, False),
        (1, 3, "openai:fake-model", 100, 20, True),
    ]
    tool_calls = _rows(
        database,
        "SELECT attempt, tool, arguments, ok FROM agent_tool_calls WHERE run_id = %s"
        " ORDER BY attempt, id",
        answer.run_id,
    )
    assert tool_calls == [
        (0, "mean_rug_tick", {}, True),
        (0, "rug_rate", {"threshold": 50}, True),
        (1, "mean_rug_tick", {}, True),
        (1, "rug_quantile", {"q": 0.9}, True),
    ]
    run = _rows(
        database,
        "SELECT generated_by, input_tokens, output_tokens FROM agent_runs WHERE run_id = %s",
        answer.run_id,
    )
    assert run == [("model:openai:fake-model", 300, 60)]
    spend = _rows(database, "SELECT model, calls, input_tokens, output_tokens FROM llm_spend")
    assert spend == [("openai:fake-model", 3, 300, 60)]


def test_parallel_tool_calls_in_one_step_are_all_recorded(database, make_runtime):
    script = [
        calls(("mean_rug_tick", {}), ("rug_rate", {"threshold": 100})),
        final("Mean rug tick 200.0, and 30% of rounds rug before tick 100."),
    ]
    with FakeLLM(script) as llm:
        answer = make_runtime(llm.spec).run(sample_capability(database), SampleRequest())
    assert answer.generated_by == "model:openai:fake-model", answer
    assert answer.summary.startswith("Mean rug tick 200.0")
    tools = _rows(
        database,
        "SELECT tool FROM agent_tool_calls WHERE run_id = %s AND attempt = 1 ORDER BY tool",
        answer.run_id,
    )
    assert tools == [("mean_rug_tick",), ("rug_rate",)]


def test_number_no_tool_produced_falls_back_to_the_deterministic_answer(database, make_runtime):
    invented = final({"summary": "The rug rate is 37.5% and the mean rug tick is 212.7."})
    with FakeLLM([invented]) as first, FakeLLM([final({"summary": GROUNDED})]) as second:
        runtime = make_runtime(f"{first.spec},{second.spec.replace('fake-model', 'other')}")
        answer = runtime.run(sample_capability(database), SampleRequest())
    assert answer.generated_by == "deterministic"
    assert answer.fallback_reason == "ungrounded"
    assert answer.summary is None
    assert (answer.mean_rug_tick, answer.rug_rate) == (200.0, 0.2)
    assert second.received == []  # below 0.6: no second guess
    outcome = _rows(database, "SELECT model, success, groundedness, reason FROM llm_outcomes")
    assert outcome == [("openai:fake-model", False, 0.0, "ungrounded")]


def test_partly_grounded_answer_is_retried_with_the_next_model(database, make_runtime):
    # 3 of 4 numbers found: 0.75 is between 0.6 and 0.8
    partly = final({"summary": "Mean 200.0, rate 20% (0.2), and a 13.3% edge."})
    with FakeLLM([partly]) as first, FakeLLM([final({"summary": BASIC})], model="other") as second:
        answer = make_runtime(f"{first.spec},{second.spec}").run(
            sample_capability(database), SampleRequest()
        )
    assert answer.generated_by == "model:openai:other"
    assert answer.fallback_reason == "ungrounded"
    assert answer.groundedness == 1.0
    assert len(first.received) == 1 and len(second.received) == 1


def test_server_error_moves_to_the_next_model(database, make_runtime):
    with FakeLLM([error(503)]) as first, FakeLLM([final(BASIC)], model="backup") as second:
        answer = make_runtime(f"{first.spec},{second.spec}").run(
            sample_capability(database), SampleRequest()
        )
    assert answer.generated_by == "model:openai:backup"
    assert answer.fallback_reason == "model_error"
    assert len(first.received) == 1  # no retry of a 5xx on the same server
    failed_step = _rows(
        database, "SELECT error FROM agent_steps WHERE run_id = %s AND attempt = 1", answer.run_id
    )
    assert "503" in failed_step[0][0]
    reasons = _rows(database, "SELECT model, success, reason FROM llm_outcomes ORDER BY id")
    assert reasons == [("openai:fake-model", False, "model_error"), ("openai:backup", True, None)]


def test_every_model_failing_gives_the_deterministic_answer(database, make_runtime):
    with FakeLLM([error(500)]) as first, FakeLLM([error(502)], model="b") as second:
        answer = make_runtime(f"{first.spec},{second.spec}").run(
            sample_capability(database), SampleRequest()
        )
    assert (answer.generated_by, answer.fallback_reason) == ("deterministic", "model_error")
    assert answer.rounds == 10


def test_a_call_timeout_moves_on_within_the_wall_clock_budget(database, make_runtime):
    with FakeLLM([hang(30)]) as slow, FakeLLM([final(BASIC)], model="fast") as fast:
        runtime = make_runtime(f"{slow.spec},{fast.spec}", timeout_s=1.0)
        started = time.monotonic()
        answer = runtime.run(sample_capability(database, budget_s=10), SampleRequest())
        elapsed = time.monotonic() - started
    assert answer.generated_by == "model:openai:fast"
    assert answer.fallback_reason == "timeout"
    assert elapsed < 5


def test_a_hanging_server_is_abandoned_when_the_budget_is_spent(database, make_runtime):
    with FakeLLM([hang(30)]) as slow:
        runtime = make_runtime(slow.spec, timeout_s=20.0)
        started = time.monotonic()
        answer = runtime.run(sample_capability(database, budget_s=1.0), SampleRequest())
        elapsed = time.monotonic() - started
    assert (answer.generated_by, answer.fallback_reason) == ("deterministic", "timeout")
    assert elapsed < 2.0
    assert answer.mean_rug_tick == 200.0


def test_malformed_tool_call_json_is_an_error_step_then_the_agent_recovers(database, make_runtime):
    script = [
        call("rug_rate", '{"threshold": 50,,'),
        call("rug_rate", {"threshold": 50}),
        final(BASIC),
    ]
    with FakeLLM(script) as llm:
        answer = make_runtime(llm.spec).run(sample_capability(database), SampleRequest())
    assert answer.generated_by == "model:openai:fake-model"
    steps = _rows(
        database,
        "SELECT step_number, error IS NOT NULL FROM agent_steps WHERE run_id = %s ORDER BY 1",
        answer.run_id,
    )
    assert steps == [(1, True), (2, False), (3, False)]
    failed = _rows(
        database,
        "SELECT tool, ok, error FROM agent_tool_calls WHERE run_id = %s AND NOT ok",
        answer.run_id,
    )
    assert len(failed) == 1 and failed[0][0] == "rug_rate" and failed[0][2]


def test_answer_not_matching_the_schema_is_rejected(database, make_runtime):
    with FakeLLM([final({"headline": "no summary field"})]) as llm:
        answer = make_runtime(llm.spec).run(sample_capability(database), SampleRequest())
    assert (answer.generated_by, answer.fallback_reason) == ("deterministic", "invalid_answer")


def test_per_request_token_cap_stops_the_agent(database, make_runtime):
    script = [call("mean_rug_tick", prompt_tokens=400), final(GROUNDED)]
    with FakeLLM(script) as llm:
        runtime = make_runtime(llm.spec, budget=BudgetPolicy(request_tokens=300))
        answer = runtime.run(sample_capability(database), SampleRequest())
    assert (answer.generated_by, answer.fallback_reason) == ("deterministic", "budget")
    assert len(llm.received) == 1


def test_hugging_face_tgi_protocol_runs_the_same_loop(database, make_runtime):
    script = [
        call("mean_rug_tick"),
        call("rug_quantile", {"q": 0.9}),
        final({"summary": GROUNDED}),
    ]
    with FakeLLM(script, protocol="tgi", model="tgi-model") as llm:
        answer = make_runtime(llm.spec).run(sample_capability(database), SampleRequest())
    assert answer.generated_by == "model:hf:tgi-model"
    assert answer.groundedness == 1.0
    assert llm.received[0]["model"] == "dummy"  # the client's payload for an endpoint URL
    assert llm.received[0]["tools"][0]["function"]["name"] == "mean_rug_tick"


def test_an_agent_that_never_calls_a_tool_stops_at_max_steps(database, make_runtime):
    script = [Reply(content="Let me think."), Reply(content="Still thinking.")]
    with FakeLLM(script) as llm:
        runtime = make_runtime(llm.spec)
        answer = runtime.run(sample_capability(database, max_steps=2), SampleRequest())
    assert (answer.generated_by, answer.fallback_reason) == ("deterministic", "model_error")
    assert len(llm.received) == 3  # two steps, then smolagents asks for a closing answer


def test_a_failing_hugging_face_endpoint_falls_to_an_openai_server(database, make_runtime):
    with FakeLLM([error(503)], protocol="tgi", model="tgi") as hf, FakeLLM([final(BASIC)]) as oa:
        answer = make_runtime(f"{hf.spec},{oa.spec}").run(
            sample_capability(database), SampleRequest()
        )
    assert (answer.generated_by, answer.fallback_reason) == (
        "model:openai:fake-model",
        "model_error",
    )
    assert len(hf.received) == 1


def test_the_prompt_carries_evidence_computed_answer_guidance_and_schema(database, make_runtime):
    with FakeLLM([final(BASIC)]) as llm:
        capability = sample_capability(database, instructions="Mention the rug rate first.")
        make_runtime(llm.spec).run(capability, SampleRequest())
    system, task = llm.received[0]["messages"][:2]
    system_text = (
        system["content"][0]["text"] if isinstance(system["content"], list) else system["content"]
    )
    task_text = task["content"][0]["text"] if isinstance(task["content"], list) else task["content"]
    assert "quote only numbers that appear in the evidence" in system_text
    assert '"rug_rate": {"rug_rate": 0.2, "threshold": 50}' in task_text
    assert '{"mean_rug_tick": 200.0, "rounds": 10, "rug_rate": 0.2}' in task_text
    assert "Guidance for this capability: Mention the rug rate first." in task_text
    assert '"required": ["summary"]' in task_text


def test_prompts_refuse_missing_variables():
    with pytest.raises(UndefinedError):
        prompts.render("narrate", "task", capability="x")


def test_concurrent_requests_share_the_model_but_not_an_agent(database, make_runtime):
    with FakeLLM([final(BASIC) for _ in range(4)]) as llm:
        runtime = make_runtime(llm.spec)
        capability = sample_capability(database)
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: runtime.run(capability, SampleRequest()), range(4)))
    assert all(a.generated_by == "model:openai:fake-model" for a in answers)
    assert len({a.run_id for a in answers}) == 4
    finals = _rows(database, "SELECT count(DISTINCT run_id) FROM agent_steps WHERE is_final")
    assert finals == [(4,)]
