"""`GET /v1/models/status` and the readiness `llm` component over a configured chain."""

from __future__ import annotations

import pytest

from tests.capabilities.sample import SampleRequest, load_rounds, sample_capability
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, call, final

TEXT = "Rounds rug at tick 200.0 on average and 20% rug before tick 50."
RUNTIME_TABLES = "agent_runs, llm_spend, llm_reservations, llm_outcomes, answer_cache"


@pytest.fixture
def llm():
    with FakeLLM([call("mean_rug_tick"), final(TEXT), final(TEXT)]) as server:
        yield server


@pytest.fixture
def llm_app(tmp_path, pg_dsn, llm):
    from agent_service.app import create_app

    settings = make_settings(
        tmp_path,
        pg_dsn,
        llm_models=f"{llm.spec}, hf:Backup/Model@http://127.0.0.1:9",
        llm_prices="fake-model=0.5/1.0",
        llm_request_token_cap=300,
        llm_daily_token_cap=500,
        llm_timeout_s=5,
    )
    application = create_app(settings)
    state = application.extensions["agent"]
    with state.backends.database.connection() as conn:
        conn.execute(f"TRUNCATE {RUNTIME_TABLES}")
    load_rounds(state.backends.database)
    yield application
    state.readiness.close()
    state.backends.close()


def test_status_shows_backends_spend_profiles_and_cache(llm_app, llm, auth):
    state = llm_app.extensions["agent"]
    capability = sample_capability(state.backends.database, cache_ttl_s=60)
    first = state.runtime.run(capability, SampleRequest())
    over = state.runtime.run(capability, SampleRequest(threshold=60))
    cached = state.runtime.run(capability, SampleRequest())
    assert first.generated_by == "model:openai:fake-model"
    assert (over.generated_by, over.fallback_reason) == ("deterministic", "budget")
    assert cached.cached is True

    client = llm_app.test_client()
    assert client.get("/v1/models/status").status_code == 401
    response = client.get("/v1/models/status", headers=auth)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["llm"] == "openai:fake-model"
    primary, backup = body["backends"]
    assert (primary["model"], primary["health"], primary["position"]) == (
        "openai:fake-model",
        "up",
        0,
    )
    assert (primary["price_input_per_1k"], primary["price_output_per_1k"]) == (0.5, 1.0)
    assert (backup["model"], backup["health"]) == ("hf:Backup/Model", "down")
    # two calls of 100 input + 20 output tokens: 240 tokens, 2 * (0.05 + 0.02) USD
    assert body["budget"]["today"]["tokens"] == 240
    assert body["budget"]["today"]["cost_usd"] == pytest.approx(0.14)
    assert body["budget"]["month"]["tokens"] == 240
    assert body["budget"]["caps"]["daily_tokens"] == 500
    assert body["budget"]["caps"]["request_tokens"] == 300
    assert body["budget"]["reserved"]["tokens"] == 0
    (profile,) = body["profiles"]
    assert (profile["capability"], profile["model"], profile["n"], profile["base"]) == (
        "sample_stats",
        "openai:fake-model",
        1,
        1.0,
    )
    assert body["cache"] == {"window_hours": 24, "lookups": 3, "hits": 1, "hit_rate": 0.3333}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'agent_llm_fallbacks_total{capability="sample_stats",reason="budget"}' in metrics
    assert 'agent_answer_cache_total{capability="sample_stats",result="hit"}' in metrics


def test_readiness_reports_the_primary_model(llm_app, llm):
    component = llm_app.test_client().get("/ready").json["components"]["llm"]
    assert component["mode"] == "openai:fake-model"
    assert component["status"] == "up"
    assert component["required"] is False
    assert llm.received == []


def test_metrics_count_llm_calls_tools_and_fallbacks(llm_app):
    state = llm_app.extensions["agent"]
    state.runtime.run(sample_capability(state.backends.database), SampleRequest())
    text = llm_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'agent_llm_calls_total{model="openai:fake-model",outcome="ok"}' in text
    assert 'agent_llm_tokens_total{direction="input",model="openai:fake-model"}' in text
    assert 'agent_tool_calls_total{outcome="ok",tool="mean_rug_tick"}' in text
    assert "agent_llm_call_duration_seconds_bucket" in text
    assert 'agent_answers_total{capability="sample_stats",producer="model"}' in text
