"""Jobs without RabbitMQ: the in-process thread pool, on the real job table."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

import tests.support.job_handlers  # noqa: F401 - registers the test.* kinds
from capabilities.engines.jobs import JobConfig, JobService
from tests.support.job_handlers import events
from tools.errors import Conflict, InvalidInput, NotFound
from tools.jobs_store import JobStore
from tools.postgres import Database

FAST = JobConfig(max_attempts=3, lease_s=1.0, threads=2, sweep_interval_s=0.3, retry_delay_s=0.2)


@pytest.fixture
def service(job_database: Database) -> Iterator[JobService]:
    svc = JobService(JobStore(job_database), FAST, amqp_url=None)
    yield svc
    svc.close()


def test_job_runs_with_progress_and_result(service, tmp_path):
    log = tmp_path / "log"
    job_id = service.submit(
        "test.sleep", {"seconds": 1.0, "steps": 4, "echo": "hi", "log": str(log)}
    )
    seen = set()
    job = service.get(job_id)
    while not job.finished:
        seen.add((job.state, round(job.progress, 2)))
        job = service.wait(job_id, timeout=0.1, poll_s=0.05)
    assert job.state == "succeeded", job.error
    assert job.result["echo"] == "hi"
    assert job.progress == 1 and job.message == "step 4 of 4"
    assert job.attempts == 1 and job.error is None
    assert job.created_at <= job.started_at <= job.finished_at
    assert any(state == "running" and 0 < p < 1 for state, p in seen), seen
    assert [e for e, _ in events(log)] == ["start", "done"]


def test_failure_is_retried_then_failed_with_the_error(service, tmp_path):
    log = tmp_path / "log"
    job_id = service.submit("test.fail", {"message": "bad seed", "log": str(log)})
    job = service.wait(job_id, timeout=10)
    assert job.state == "failed"
    assert job.attempts == 3 == len(events(log))
    assert job.error == "RuntimeError: bad seed"
    attempts = service.store.attempts(job_id)
    assert [a.outcome for a in attempts] == ["failed", "failed", "failed"]
    for before, after in itertools.pairwise(attempts):  # the retry delay
        assert (after.started_at - before.finished_at).total_seconds() >= 0.2


def test_retry_then_success(service, tmp_path):
    job_id = service.submit("test.flaky", {"failures": 1, "log": str(tmp_path / "log")})
    job = service.wait(job_id, timeout=10)
    assert job.state == "succeeded" and job.attempts == 2
    assert job.result == {"ok": True}


def test_idempotent_submit_returns_the_same_job(service, tmp_path):
    payload = {"seconds": 0, "echo": "once"}
    first = service.submit("test.sleep", payload, idempotency_key="req-1")
    again = service.submit("test.sleep", dict(payload), idempotency_key="req-1")
    other = service.submit("test.sleep", payload, idempotency_key="req-2")
    assert first == again != other
    with pytest.raises(Conflict):
        service.submit("test.sleep", {"seconds": 0, "echo": "twice"}, idempotency_key="req-1")
    assert service.wait(first, timeout=10).state == "succeeded"
    assert service.wait(other, timeout=10).state == "succeeded"


def test_bad_submissions_name_the_field(service):
    with pytest.raises(InvalidInput) as unknown:
        service.submit("no.such.kind", {})
    assert unknown.value.errors[0].field == "kind"
    with pytest.raises(InvalidInput) as bad_payload:
        service.submit("test.sleep", {"x": float("nan")})
    assert bad_payload.value.errors[0].field == "payload"
    with pytest.raises(InvalidInput) as bad_attempts:
        service.submit("test.sleep", {}, max_attempts=0)
    assert bad_attempts.value.errors[0].field == "max_attempts"
    with pytest.raises(NotFound):
        service.get(__import__("uuid").uuid4())


def test_payloads_and_results_postgres_refuses_are_errors_not_crashes(service):
    with pytest.raises(InvalidInput) as refused:
        service.submit("test.sleep", {"echo": "a\u0000b"})
    assert refused.value.errors[0].field == "payload"
    job = service.wait(service.submit("test.unstorable", {}, max_attempts=1), timeout=10)
    assert job.state == "failed"
    assert job.error.startswith("ValueError: the result cannot be stored")


def test_jobs_of_a_crashed_process_are_resumed_at_start(job_database, tmp_path):
    """A job left `running` by a dead process (lease expired) and one left `queued` are
    both taken up by the next process's sweeper."""
    store = JobStore(job_database)
    crashed, _ = store.insert("test.sleep", {"echo": "crashed"}, max_attempts=2)
    assert store.claim(crashed.id, "dead-host:1:local", lease_s=0.5) is not None
    orphan, _ = store.insert("test.sleep", {"echo": "orphan"}, max_attempts=2)
    svc = JobService(store, FAST, amqp_url=None)
    try:
        resumed = svc.wait(crashed.id, timeout=10)
        queued = svc.wait(orphan.id, timeout=10)
    finally:
        svc.close()
    assert resumed.state == "succeeded" and resumed.attempts == 2
    assert queued.state == "succeeded" and queued.attempts == 1
    attempts = store.attempts(crashed.id)
    assert (attempts[0].worker_id, attempts[0].outcome) == ("dead-host:1:local", "lost")
    assert attempts[1].outcome == "succeeded"


def test_close_hands_a_long_job_back_at_its_next_progress_report(job_database, tmp_path):
    """A stopping process does not wait out a long job (a training run): the job goes back
    to `queued` with its attempt uncounted, for the next process's sweep."""
    store = JobStore(job_database)
    log = tmp_path / "log"
    svc = JobService(store, FAST, amqp_url=None)
    job_id = svc.submit("test.sleep", {"seconds": 60, "steps": 600, "log": str(log)})
    while svc.get(job_id).state != "running":
        svc.wait(job_id, timeout=0.1, poll_s=0.05)
    started = time.monotonic()
    svc.close()
    assert time.monotonic() - started < 5
    handed_back = store.get(job_id)
    assert handed_back.state == "queued" and handed_back.attempts == 0
    assert [a.outcome for a in store.attempts(job_id)] == ["released"]
    assert [e for e, _ in events(log)] == ["start"]  # stopped, not run to its end
