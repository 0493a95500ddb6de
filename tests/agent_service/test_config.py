from __future__ import annotations

from pathlib import Path

import pytest

from agent_service.config import SettingsError, describe, load_settings


def test_defaults_need_nothing_configured():
    settings = load_settings({})
    assert settings.port == 8000
    assert settings.postgres_mode == "embedded"
    assert settings.qdrant_mode == "embedded"
    assert settings.amqp_mode == "disabled"
    assert settings.effective_llm_backend == "none"
    assert settings.data_dir == Path("./data")


def test_conventional_names_and_prefix():
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://db/x",
            "AMQP_URL": "amqp://mq",
            "QDRANT_URL": "http://q:6333",
            "HF_TOKEN": "hf_secret",
            "AGENT_PORT": "9001",
            "AGENT_API_KEYS": " a , b ,",
        }
    )
    assert settings.port == 9001
    assert [k.get_secret_value() for k in settings.api_keys] == ["a", "b"]
    assert settings.postgres_mode == "external"
    assert settings.amqp_mode == "external"
    assert settings.effective_llm_backend == "hf"


def test_bad_value_names_the_variable():
    with pytest.raises(SettingsError, match="AGENT_PORT"):
        load_settings({"AGENT_PORT": "eighty"})
    with pytest.raises(SettingsError, match="AGENT_LOG_LEVEL"):
        load_settings({"AGENT_LOG_LEVEL": "chatty"})


def test_unknown_agent_variables_are_ignored_not_fatal():
    assert load_settings({"AGENT_SOMETHING_ELSE": "1"}).port == 8000


def test_env_file_is_read_and_environment_wins(tmp_path: Path):
    env_file = tmp_path / "agent.env"
    env_file.write_text("# comment\nAGENT_PORT=9100\nexport AGENT_THREADS='3'\n\nAGENT_WORKERS=4\n")
    settings = load_settings({"AGENT_ENV_FILE": str(env_file), "AGENT_WORKERS": "5"})
    assert (settings.port, settings.threads, settings.workers) == (9100, 3, 5)


def test_env_file_error_has_line_number(tmp_path: Path):
    env_file = tmp_path / "agent.env"
    env_file.write_text("AGENT_PORT=1\nnot a setting\n")
    with pytest.raises(SettingsError, match=r"agent\.env:2: expected KEY=VALUE"):
        load_settings({"AGENT_ENV_FILE": str(env_file)})


def test_describe_masks_secrets():
    settings = load_settings(
        {"DATABASE_URL": "postgresql://u:pw@db/x", "AGENT_API_KEYS": "k1", "HF_TOKEN": "hf_x"}
    )
    shown = describe(settings)
    text = repr(shown)
    assert "pw" not in text and "k1" not in text and "hf_x" not in text
    assert shown["database_url"] == "***"
