"""Jobs through RabbitMQ: a QueueWorker (in a thread of the test) on a queue of its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pika
import pytest
from prometheus_client import REGISTRY

import tests.support.job_handlers  # noqa: F401 - registers the test.* kinds
from capabilities.engines.jobs import JobConfig, JobService
from capabilities.engines.jobs.runner import JobRunner
from capabilities.engines.jobs.worker import QueueWorker
from tests.support.job_handlers import events
from tests.support.jobs import dead_letters, ready_messages
from tools.amqp import connection_parameters
from tools.jobs_queue import JobPublisher, QueueNames, declare
from tools.jobs_store import JobStore
from tools.postgres import Database


def job_config(names: QueueNames, sweep_interval_s: float = 60) -> JobConfig:
    return JobConfig(
        queue=names.queue,
        max_attempts=2,
        lease_s=1.0,
        sweep_interval_s=sweep_interval_s,
        requeue_after_s=60,
        stop_grace_s=5,
        retry_delay_s=0.3,
    )


@pytest.fixture
def service(job_database: Database, queue_names: QueueNames, amqp_url: str) -> Iterator[JobService]:
    svc = JobService(JobStore(job_database), job_config(queue_names), amqp_url=amqp_url)
    yield svc
    svc.close()


@contextmanager
def running_worker(
    database: Database, names: QueueNames, url: str, *, sweep_interval_s: float = 60
) -> Iterator[QueueWorker]:
    worker = QueueWorker(
        JobRunner(JobStore(database), lease_s=1.0),
        url,
        job_config(names, sweep_interval_s),
        concurrency=2,
        worker_id=f"test-{uuid.uuid4().hex[:6]}",
    )
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(20)
        assert not thread.is_alive()


def test_job_runs_on_a_worker_and_its_message_is_acked(
    service, job_database, queue_names, amqp_url, tmp_path
):
    job_id = service.submit("test.sleep", {"seconds": 0.3, "steps": 3, "log": str(tmp_path / "l")})
    assert service.get(job_id).state == "queued"
    assert ready_messages(amqp_url, queue_names) == 1
    with running_worker(job_database, queue_names, amqp_url):
        job = service.wait(job_id, timeout=15)
    assert job.state == "succeeded" and job.attempts == 1 and job.progress == 1
    assert [e for e, _ in events(tmp_path / "l")] == ["start", "done"]
    assert ready_messages(amqp_url, queue_names) == 0
    assert dead_letters(amqp_url, queue_names) == []


def test_exhausted_job_is_failed_and_dead_lettered_with_the_reason(
    service, job_database, queue_names, amqp_url, tmp_path
):
    job_id = service.submit("test.fail", {"message": "corrupt input", "log": str(tmp_path / "l")})
    flaky = service.submit("test.flaky", {"failures": 1, "log": str(tmp_path / "f")})
    with running_worker(job_database, queue_names, amqp_url):
        job = service.wait(job_id, timeout=15)
        recovered = service.wait(flaky, timeout=15)
    assert job.state == "failed" and job.attempts == 2
    assert job.error == "RuntimeError: corrupt input"
    assert len(events(tmp_path / "l")) == 2
    assert recovered.state == "succeeded" and recovered.attempts == 2
    for done in (job_id, flaky):  # each retry waited out the delay in the retry queue
        first, second = service.store.attempts(done)[:2]
        assert (second.started_at - first.finished_at).total_seconds() >= 0.3
    parked = dead_letters(amqp_url, queue_names)
    assert len(parked) == 1
    body, headers = parked[0]
    assert str(job_id) in body.decode()
    assert headers["x-reason"] == "RuntimeError: corrupt input"


def test_unreadable_message_is_dead_lettered(job_database, queue_names, amqp_url):
    with running_worker(job_database, queue_names, amqp_url):
        connection = pika.BlockingConnection(connection_parameters(amqp_url))
        channel = connection.channel()
        declare(channel, queue_names)
        channel.basic_publish("", queue_names.queue, b"not json")
        connection.close()
        for _ in range(100):
            parked = dead_letters(amqp_url, queue_names)
            if parked:
                break
            threading.Event().wait(0.1)
    assert parked[0][0] == b"not json"
    assert "not a job message" in parked[0][1]["x-reason"]


def test_sweeper_publishes_a_job_whose_message_was_lost(
    service, job_database, queue_names, amqp_url
):
    """A job stored while its publish failed (no message anywhere) still runs."""
    store = service.store
    job, _ = store.insert("test.sleep", {"echo": "swept"}, max_attempts=2)
    with job_database.connection() as conn:  # as if stored 5 s ago and never published
        conn.execute(
            "UPDATE jobs SET updated_at = now() - interval '5 seconds' WHERE id = %s", (job.id,)
        )
    assert ready_messages(amqp_url, queue_names) == 0
    with running_worker(job_database, queue_names, amqp_url, sweep_interval_s=0.3) as worker:
        done = service.wait(job.id, timeout=15)
        worker.sweep()  # refreshes the gauges now that the message is acked
    assert done.state == "succeeded" and done.result["echo"] == "swept"
    depth = REGISTRY.get_sample_value("agent_jobs_queue_depth", {"queue": queue_names.queue})
    assert depth == 0


def test_job_lost_on_its_last_attempt_is_failed_and_dead_lettered(
    service, job_database, queue_names, amqp_url
):
    store = service.store
    job, _ = store.insert("test.sleep", {}, max_attempts=1)
    assert store.claim(job.id, "vanished:1:0", lease_s=0.2) is not None
    threading.Event().wait(0.3)
    JobPublisher(amqp_url, queue_names).publish(job.id)  # as redelivered after the crash
    with running_worker(job_database, queue_names, amqp_url):
        failed = service.wait(job.id, timeout=15)
    assert failed.state == "failed" and failed.attempts == 1
    assert "attempt 1 of 1 was lost: worker vanished:1:0" in failed.error
    [(_body, headers)] = dead_letters(amqp_url, queue_names)
    assert headers["x-reason"] == failed.error
