from __future__ import annotations

import stat

from agent_service.app import create_app
from agent_service.wiring import api_keys, ensure_api_key
from tests.conftest import make_settings


def test_open_routes_need_no_key(client):
    for path in ("/health", "/ready", "/metrics", "/openapi.yaml"):
        assert client.get(path).status_code == 200, path


def test_generated_key_file_is_private_and_reused(tmp_path, pg_dsn):
    settings = make_settings(tmp_path, pg_dsn, api_keys=None)
    app = create_app(settings)
    key_file = settings.api_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert ensure_api_key(key_file) is False  # never overwritten
    assert api_keys(settings) == (key,)
    client = app.test_client()
    assert client.get("/v1/info").status_code == 401
    assert client.get("/v1/info", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    app.extensions["agent"].backends.close()


def test_any_configured_key_is_accepted(tmp_path, pg_dsn):
    app = create_app(make_settings(tmp_path, pg_dsn, api_keys="first,second"))
    client = app.test_client()
    for key in ("first", "second"):
        assert client.get("/v1/info", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client.get("/v1/info", headers={"Authorization": "Bearer firs"}).status_code == 401
    assert client.get("/v1/info", headers={"Authorization": "first"}).status_code == 401
    assert not (tmp_path / "data" / "api_key").exists()
    app.extensions["agent"].backends.close()


def test_info_reports_modes_and_no_secrets(client, auth):
    body = client.get("/v1/info", headers=auth).json
    assert body["modes"] == {
        "postgres": "external",
        "qdrant": "embedded",
        "rabbitmq": "disabled",
        "llm": "none",
    }
    assert "test-key" not in repr(body)
    assert body["settings"]["database_url"] == "***"
