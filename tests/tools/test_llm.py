"""LLM backends: specs and settings, models built with timeouts and bounded retries,
lazy local models, error classes and health probes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from smolagents.models import ChatMessage, MessageRole

from agent_service.config import SettingsError, load_settings
from tests.support.fake_llm import FakeLLM, error, final, hang
from tools.llm import LLMConfig, Price, parse_model, parse_models, parse_prices
from tools.llm.models import ChainModel, LLMUnavailable, build_model, classify_error, probe

MESSAGES = [ChatMessage(role=MessageRole.USER, content=[{"type": "text", "text": "hi"}])]


def test_importing_the_settings_side_does_not_load_prometheus():
    """Settings are read before gunicorn sets its metrics directory (see tools/llm)."""
    code = "import sys, agent_service.cli; print('prometheus_client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_model_entries_parse_with_optional_server():
    spec = parse_model(" openai:qwen2.5:7b@http://gpu1:8000/v1 ")
    assert (spec.backend, spec.model_id, spec.base_url) == (
        "openai",
        "qwen2.5:7b",
        "http://gpu1:8000/v1",
    )
    assert spec.key == "openai:qwen2.5:7b"
    assert parse_model("hf:Qwen/Qwen2.5-72B-Instruct").base_url is None
    assert [s.key for s in parse_models("hf:a, transformers:/models/x")] == [
        "hf:a",
        "transformers:/models/x",
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("gpt:x", "backend one of"),
        ("openai:x", "needs its server"),
        ("hf:x@ftp://y", "http"),
        ("transformers:/m@http://x", "local path"),
        ("hf:", "empty"),
        ("hf:a,hf:a", "twice"),
    ],
)
def test_bad_model_entries_say_what_is_wrong(entry, message):
    with pytest.raises(ValueError, match=message):
        parse_models(entry)


def test_prices_parse_and_cost():
    prices = parse_prices("Qwen/Q=0.5/1.5, m=0/0")
    assert prices["Qwen/Q"] == Price(0.5, 1.5)
    assert prices["Qwen/Q"].cost(1000, 2000) == pytest.approx(3.5)
    with pytest.raises(ValueError, match="input_price/output_price"):
        parse_prices("m=1")
    with pytest.raises(ValueError, match="negative"):
        parse_prices("m=-1/1")


def test_settings_build_the_chain_and_name_the_variable_at_fault():
    settings = load_settings(
        {
            "AGENT_LLM_MODELS": "openai:small@http://h:1/v1, hf:Big/Model",
            "AGENT_LLM_PRICES": "Big/Model=0.9/0.9",
        }
    )
    assert [str(s) for s in settings.llm_chain] == ["openai:small@http://h:1/v1", "hf:Big/Model"]
    assert settings.llm_chain[1].price == Price(0.9, 0.9)
    assert settings.effective_llm_backend == "openai"
    assert load_settings({"HF_TOKEN": "t"}).llm_chain[0].key.startswith("hf:")
    assert load_settings({}).llm_chain == ()
    assert load_settings({"HF_TOKEN": "t", "AGENT_LLM_BACKEND": "none"}).llm_chain == ()
    for env, variable in [
        ({"AGENT_LLM_MODELS": "nope"}, "AGENT_LLM_MODELS"),
        ({"AGENT_LLM_PRICES": "x"}, "AGENT_LLM_PRICES"),
        ({"AGENT_LLM_BACKEND": "openai", "AGENT_LLM_BASE_URL": "http://h/v1"}, "AGENT_LLM_MODEL"),
        ({"AGENT_LLM_BACKEND": "transformers"}, "AGENT_LLM_MODEL"),
        ({"AGENT_LLM_TIMEOUT_S": "0"}, "AGENT_LLM_TIMEOUT_S"),
    ]:
        with pytest.raises(SettingsError, match=variable):
            load_settings(env)


def test_openai_model_has_the_timeout_and_no_minute_long_retries():
    config = LLMConfig(timeout_s=3.0, retries=2, retry_wait_s=0.5)
    model = build_model(parse_model("openai:m@http://127.0.0.1:9/v1"), config)
    assert model.client.timeout == 3.0
    assert model.client.max_retries == 0
    assert (model.retryer.max_attempts, model.retryer.wait_seconds) == (3, 0.5)


def test_hf_model_needs_a_token_unless_it_is_an_endpoint_url():
    with pytest.raises(LLMUnavailable, match="HF_TOKEN"):
        build_model(parse_model("hf:Qwen/Q"), LLMConfig())
    model = build_model(parse_model("hf:tgi@http://127.0.0.1:9"), LLMConfig(timeout_s=4))
    assert model.client.model == "http://127.0.0.1:9"
    assert model.client.timeout == 4


def test_transformers_model_is_lazy_and_missing_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-model"
    model = ChainModel(parse_model(f"transformers:{missing}"), LLMConfig())  # nothing loaded
    with pytest.raises(LLMUnavailable, match="nothing is downloaded") as caught:
        model.generate(MESSAGES)
    assert classify_error(caught.value) == "unavailable"
    with pytest.raises(LLMUnavailable):
        model.probe(1.0)


def test_rate_limits_are_retried_a_bounded_number_of_times():
    with FakeLLM([error(429), error(429), final("ok")]) as llm:
        config = LLMConfig(timeout_s=5, retries=2, retry_wait_s=0.01)
        message = ChainModel(parse_model(llm.spec), config).generate(MESSAGES)
    assert message.tool_calls[0].function.name == "final_answer"
    assert len(llm.received) == 3
    with FakeLLM([error(429), final("never")]) as llm:
        model = ChainModel(parse_model(llm.spec), LLMConfig(timeout_s=5, retries=0))
        with pytest.raises(Exception) as caught:
            model.generate(MESSAGES)
    assert classify_error(caught.value) == "rate_limited"
    assert len(llm.received) == 1


def test_server_errors_and_timeouts_are_classified_and_not_retried():
    with FakeLLM([error(502)]) as llm:
        model = ChainModel(parse_model(llm.spec), LLMConfig(timeout_s=5, retries=3))
        with pytest.raises(Exception) as caught:
            model.generate(MESSAGES)
    assert classify_error(caught.value) == "server_error"
    assert len(llm.received) == 1
    with FakeLLM([hang(10)], protocol="tgi") as llm:
        model = ChainModel(parse_model(llm.spec), LLMConfig(timeout_s=0.5))
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            model.generate(MESSAGES)
        elapsed = time.monotonic() - started
    assert classify_error(caught.value) == "timeout"
    assert elapsed < 3


def test_probes_spend_no_tokens_and_fail_when_the_server_is_gone():
    with FakeLLM([]) as openai_server, FakeLLM([], protocol="tgi") as tgi_server:
        assert "200" in probe(parse_model(openai_server.spec), LLMConfig(), 2.0)
        assert "/health" in probe(parse_model(tgi_server.spec), LLMConfig(), 2.0)
        assert openai_server.received == tgi_server.received == []
        gone = parse_model(openai_server.spec)
    with pytest.raises(Exception):  # noqa: B017 - any connection error means down
        probe(gone, LLMConfig(), 1.0)
