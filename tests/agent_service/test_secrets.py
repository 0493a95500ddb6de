"""Credentials inside URL settings never reach a response, a log line or the CLI."""

from __future__ import annotations

import io
import logging

import psycopg
import pytest
from flask import Blueprint

from agent_service.logs import JsonFormatter
from tests.capabilities.sample import SampleRequest, load_rounds, sample_capability
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, final
from tests.support.process import cli_env, run_cli
from tests.support.tcp_proxy import free_port
from tools.errors import BackendUnavailable
from tools.redact import mask_url

SECRET = "S3cr3t-pw"


def _with_password(dsn: str) -> str:
    parts = psycopg.conninfo.conninfo_to_dict(dsn)  # the test server trusts: any password
    return (
        f"postgresql://{parts.get('user', 'postgres')}:{SECRET}@{parts.get('host', '127.0.0.1')}"
        f":{parts.get('port', 5432)}/{parts['dbname']}"
    )


def _settings_with_secrets(llm_root: str, closed: int) -> dict[str, str]:
    """Every URL setting, each with user:SECRET@ (the servers behind them are closed)."""
    at = llm_root.replace("http://", f"http://user:{SECRET}@")
    return {
        "llm_base_url": f"{at}/v1",
        "llm_models": f"openai:fake-model@{at}/v1, hf:Backup/Model@http://u:{SECRET}@127.0.0.1:{closed}",
        "qdrant_url": f"http://user:{SECRET}@127.0.0.1:{closed}",
        "embedding_backend": "inference",
        "embedding_url": f"http://user:{SECRET}@127.0.0.1:{closed}/embed",
        "amqp_url": f"amqp://guest:{SECRET}@127.0.0.1:{closed}/%2F",
    }


@pytest.fixture
def llm():
    with FakeLLM([final("Rounds rug at tick 200.0 on average.")] * 3) as server:
        yield server


@pytest.fixture
def log_lines():
    """Every record as the service writes it (JSON lines), whatever its level."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def secret_app(tmp_path, pg_dsn, llm, log_lines):
    from agent_service.app import create_app

    closed = free_port()
    settings = make_settings(
        tmp_path,
        _with_password(pg_dsn),
        llm_timeout_s=5,
        check_timeout_s=1,
        **_settings_with_secrets(llm.root, closed),
    )
    application = create_app(settings)
    logging.getLogger().setLevel(logging.DEBUG)  # after create_app: every line is captured
    state = application.extensions["agent"]
    load_rounds(state.backends.database)
    bp = Blueprint("leak", __name__)

    @bp.get("/v1/leak")
    def leak():
        raise BackendUnavailable("llm", f"cannot reach http://user:{SECRET}@host:1/v1: refused")

    application.register_blueprint(bp)
    yield application
    state.readiness.close()
    state.backends.close()


def test_no_response_or_log_line_shows_a_url_credential(secret_app, auth, log_lines):
    state = secret_app.extensions["agent"]
    answer = state.runtime.run(sample_capability(state.backends.database), SampleRequest())
    assert answer.generated_by == "model:openai:fake-model"  # a real call through the URL
    client = secret_app.test_client()
    bodies = {
        path: client.get(path, headers=auth).get_data(as_text=True)
        for path in ("/ready", "/v1/info", "/v1/models/status", "/v1/leak")
    }
    for path, body in bodies.items():
        assert SECRET not in body, (path, body)
    assert "***@" in bodies["/v1/info"] and "***@" in bodies["/v1/models/status"]
    quiet = logging.getLogger("httpx2")  # what openai logs each request with, URL and all
    quiet.info("HTTP Request: POST http://user:%s@h/v1 200", SECRET)
    quiet.warning("retrying http://user:%s@h/v1", SECRET)
    lines = log_lines.getvalue()
    assert "HTTP Request" not in lines and "retrying http://***@h/v1" in lines
    assert SECRET not in lines


def test_the_cli_shows_no_url_credential(tmp_path, pg_dsn):
    env = {
        k.upper() if k in ("qdrant_url", "amqp_url") else f"AGENT_{k.upper()}": v
        for k, v in _settings_with_secrets("http://127.0.0.1:9", free_port()).items()
    }
    env = cli_env(DATABASE_URL=_with_password(pg_dsn), AGENT_CHECK_TIMEOUT_S="1", **env)
    checked = run_cli("check", env=env, cwd=tmp_path)
    assert "qdrant" in checked.stdout and "rabbitmq" in checked.stdout
    assert SECRET not in checked.stdout + checked.stderr
    unreachable = f"postgresql://u:{SECRET}@127.0.0.1:{free_port()}/x"
    failed = run_cli("db", "migrate", env={**env, "DATABASE_URL": unreachable}, cwd=tmp_path)
    assert failed.returncode != 0 and SECRET not in failed.stdout + failed.stderr


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://user:pw@host/v1", "http://***@host/v1"),
        ("openai:m@https://u:p@ss@h:8/v1, hf:x", "openai:m@https://***@h:8/v1, hf:x"),
        ("amqp://guest:guest@127.0.0.1:5672/%2F", "amqp://***@127.0.0.1:5672/%2F"),
        ("host=h password='a b' user=u", "host=h password=*** user=u"),
        ("hf:Qwen/Qwen2.5@https://h/v1 (user@example.org)", None),
    ],
)
def test_mask_url(text, shown):
    assert mask_url(text) == (shown or text)
