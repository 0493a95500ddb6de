"""Every error is problem+json with the right status; bodies carry no traceback."""

from __future__ import annotations

import logging

import pytest
from flask import Blueprint
from pydantic import BaseModel, Field

from agent_service.api import json_response, parse_body
from agent_service.app import create_app
from tests.conftest import make_settings
from tests.support.tcp_proxy import free_port

PROBLEM = "application/problem+json"


class Order(BaseModel):
    amount: float = Field(gt=0)
    side: str


def _probe_blueprint() -> Blueprint:
    """Routes that exercise the request-parsing and error mechanisms."""
    bp = Blueprint("probe", __name__, url_prefix="/v1/probe")

    @bp.post("/order")
    def order():
        return json_response(parse_body(Order))

    @bp.get("/crash")
    def crash():
        raise RuntimeError("internal secret detail")

    @bp.get("/db")
    def db():
        from flask import current_app

        current_app.extensions["agent"].backends.database.ping(0.5)
        return json_response({"ok": True})

    return bp


@pytest.fixture
def probe_client(app):
    app.register_blueprint(_probe_blueprint())
    return app.test_client()


def _assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["title"] and body["type"].startswith("urn:vectra-agent:problem:")
    assert "detail" in body
    return body


def test_400_malformed_json(probe_client, auth):
    response = probe_client.post(
        "/v1/probe/order", data=b"{not json", headers=auth, content_type="application/json"
    )
    assert "not valid JSON" in _assert_problem(response, 400)["detail"]


def test_401_without_or_with_wrong_key(client, auth):
    _assert_problem(client.get("/v1/info"), 401)
    wrong = client.get("/v1/info", headers={"Authorization": "Bearer nope"})
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    _assert_problem(wrong, 401)
    assert client.get("/v1/info", headers=auth).status_code == 200


def test_404_unknown_route(client):
    _assert_problem(client.get("/no/such/thing"), 404)


def test_405_wrong_method(client):
    response = client.post("/health")
    _assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_413_body_over_limit(tmp_path, pg_dsn, auth):
    app = create_app(make_settings(tmp_path, pg_dsn, max_body_bytes=1024))
    app.register_blueprint(_probe_blueprint())
    response = app.test_client().post(
        "/v1/probe/order",
        data=b'{"side": "' + b"x" * 4096 + b'"}',
        headers=auth,
        content_type="application/json",
    )
    assert "1024" in _assert_problem(response, 413)["detail"]
    app.extensions["agent"].backends.close()


def test_422_names_each_field(probe_client, auth):
    response = probe_client.post("/v1/probe/order", json={"amount": -1}, headers=auth)
    body = _assert_problem(response, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"amount", "side"}


def test_422_when_body_is_not_an_object(probe_client, auth):
    body = _assert_problem(probe_client.post("/v1/probe/order", json=[1, 2], headers=auth), 422)
    assert body["errors"][0]["field"] == "body"


def test_500_hides_the_traceback_and_logs_it(probe_client, auth, caplog):
    with caplog.at_level(logging.ERROR):
        response = probe_client.get(
            "/v1/probe/crash", headers={**auth, "X-Request-ID": "req-500-test"}
        )
    body = _assert_problem(response, 500)
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["instance"] == "urn:request:req-500-test"
    assert any("internal secret detail" in (r.exc_text or "") for r in caplog.records)


def test_503_backend_down_has_retry_after(tmp_path, pg_dsn, auth):
    from agent_service.wiring import Prepared

    settings = make_settings(tmp_path, pg_dsn)
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    app = create_app(prepared=Prepared(settings, dead, False))
    app.register_blueprint(_probe_blueprint())
    response = app.test_client().get("/v1/probe/db", headers=auth)
    body = _assert_problem(response, 503)
    assert "postgres" in body["detail"]
    assert int(response.headers["Retry-After"]) > 0
    app.extensions["agent"].backends.close()


def test_every_answer_says_the_applications_time(client, auth):
    for r in (client.get("/health"), client.get("/v1/opponents/nobody", headers=auth)):
        name, duration = r.headers["Server-Timing"].split(";dur=")
        assert name == "app" and float(duration) >= 0.0


def test_request_id_is_echoed_or_generated(client):
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    generated = client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["X-Request-ID"]) == 32
