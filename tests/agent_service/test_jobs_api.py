"""`GET /v1/jobs/{id}` and the 202 convention of long capabilities (in-process jobs)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import tests.support.job_handlers  # noqa: F401 - registers the test.* kinds
from agent_service.config import Settings
from agent_service.jobs import submit_accepted
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path: Path, pg_dsn: str) -> Settings:
    return make_settings(tmp_path, pg_dsn, jobs_retry_delay_s=0.1)


def test_finished_job_is_reported(app, client, auth):
    service = app.extensions["agent"].backends.jobs()
    job_id = service.submit("test.sleep", {"seconds": 0.2, "steps": 2, "echo": "api"})
    service.wait(job_id, timeout=10)
    response = client.get(f"/v1/jobs/{job_id}", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["job_id"] == str(job_id) and body["kind"] == "test.sleep"
    assert body["state"] == "succeeded" and body["progress"] == 1
    assert body["result"]["echo"] == "api" and body["error"] is None
    assert body["attempts"] == 1 and body["max_attempts"] == 3
    assert body["created_at"] <= body["started_at"] <= body["finished_at"]


def test_failed_job_reports_its_error(app, client, auth):
    service = app.extensions["agent"].backends.jobs()
    job_id = service.submit("test.fail", {"message": "no data"}, max_attempts=1)
    service.wait(job_id, timeout=10)
    body = client.get(f"/v1/jobs/{job_id}", headers=auth).get_json()
    assert body["state"] == "failed" and body["result"] is None
    assert body["error"] == "RuntimeError: no data"


def test_unknown_job_is_404_problem(client, auth):
    response = client.get(f"/v1/jobs/{uuid.uuid4()}", headers=auth)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "no job with id" in response.get_json()["detail"]


def test_malformed_id_is_422_naming_the_parameter(client, auth):
    response = client.get("/v1/jobs/not-a-uuid", headers=auth)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == [{"field": "path.job_id", "message": "expected a UUID"}]


def test_jobs_need_the_api_key(client):
    assert client.get(f"/v1/jobs/{uuid.uuid4()}").status_code == 401


def test_submit_accepted_answers_202_with_location_and_dedupes_retries(app, client, auth):
    payload = {"seconds": 0, "echo": "accepted"}
    with app.test_request_context("/v1/anything", headers={"Idempotency-Key": "retry-7"}):
        first = submit_accepted("test.sleep", payload)
        again = submit_accepted("test.sleep", payload)
    assert first.status_code == 202
    body = first.get_json()
    assert first.headers["Location"] == body["status_url"] == f"/v1/jobs/{body['job_id']}"
    assert again.get_json() == body
    app.extensions["agent"].backends.jobs().wait(uuid.UUID(body["job_id"]), timeout=10)
    status = client.get(body["status_url"], headers=auth).get_json()
    assert status["state"] == "succeeded" and status["result"]["echo"] == "accepted"


def _sample(client, name: str, **labels: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_jobs_by_kind_and_final_state(app, client):
    service = app.extensions["agent"].backends.jobs()
    before = {
        "ok": _sample(client, "agent_jobs_finished_total", kind="test.sleep", state="succeeded"),
        "failed": _sample(client, "agent_jobs_finished_total", kind="test.fail", state="failed"),
        "runs": _sample(client, "agent_job_duration_seconds_count", kind="test.sleep"),
        "retries": _sample(client, "agent_job_attempts_total", kind="test.fail", outcome="retry"),
    }
    service.wait(service.submit("test.sleep", {"seconds": 0}), timeout=10)
    service.wait(service.submit("test.fail", {}, max_attempts=2), timeout=10)
    assert (
        _sample(client, "agent_jobs_finished_total", kind="test.sleep", state="succeeded")
        == before["ok"] + 1
    )
    assert (
        _sample(client, "agent_jobs_finished_total", kind="test.fail", state="failed")
        == before["failed"] + 1
    )
    assert (
        _sample(client, "agent_job_attempts_total", kind="test.fail", outcome="retry")
        == before["retries"] + 1
    )
    assert (
        _sample(client, "agent_job_duration_seconds_count", kind="test.sleep") == before["runs"] + 1
    )
