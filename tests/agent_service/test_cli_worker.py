"""`agent-service worker` processes against real PostgreSQL and RabbitMQ: a worker
SIGKILLed mid-job loses the job to another, SIGTERM stops cleanly."""

from __future__ import annotations

import configparser
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pytest
import requests

import tests.support.job_handlers  # noqa: F401 - registers the test.* kinds
from agent_service.cli import main
from agent_service.cli.worker import worker as worker_command
from agent_service.config import Settings
from capabilities.engines.jobs import JobConfig, JobService
from tests.support.job_handlers import events
from tests.support.jobs import delete_queues, migrated, ready_messages, unique_queue
from tests.support.process import REPO, cli_env, run_cli, start_cli
from tests.support.tcp_proxy import free_port
from tools.amqp import connection_parameters
from tools.jobs_queue import QueueNames
from tools.jobs_store import JobStore
from tools.postgres import Database


@pytest.fixture
def names(amqp_url: str) -> Iterator[QueueNames]:
    queue = unique_queue()
    yield queue
    delete_queues(amqp_url, queue)


@pytest.fixture
def database(pg_dsn: str) -> Iterator[Database]:
    db = Database(migrated(pg_dsn), max_size=4)
    yield db
    db.close()


@pytest.fixture
def service(database: Database, names: QueueNames, amqp_url: str) -> Iterator[JobService]:
    svc = JobService(JobStore(database), JobConfig(queue=names.queue), amqp_url=amqp_url)
    yield svc
    svc.close()


@pytest.fixture
def workers(
    tmp_path: Path, pg_dsn: str, amqp_url: str, names: QueueNames
) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, **env: str) -> subprocess.Popen[str]:
        environment = cli_env(
            DATABASE_URL=pg_dsn,
            AMQP_URL=amqp_url,
            AGENT_DATA_DIR=str(tmp_path / "data"),
            AGENT_JOBS_QUEUE=names.queue,
            AGENT_JOBS_LEASE_S="2",
            AGENT_JOBS_SWEEP_INTERVAL_S="60",  # recovery below must come from redelivery
            AGENT_JOBS_HANDLERS="tests.support.job_handlers",
            PYTHONUNBUFFERED="1",
            **env,
        )
        log = tmp_path / f"worker{len(started)}.log"
        proc = start_cli("worker", *args, env=environment, log=log)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def wait_for(condition: Callable[[], object], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def consumers(url: str, names: QueueNames) -> int:
    connection = pika.BlockingConnection(connection_parameters(url))
    try:
        frame = connection.channel().queue_declare(names.queue, passive=True)
        return int(frame.method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if connection.is_open:
            connection.close()


def test_a_job_whose_worker_is_killed_completes_on_another(
    workers, service, names, amqp_url, tmp_path
):
    ports = [free_port(), free_port()]
    first, second = (workers("--metrics-port", str(port)) for port in ports)
    wait_for(lambda: consumers(amqp_url, names) == 2, 30, "two workers consuming")
    log = tmp_path / "events"
    job_id = service.submit("test.sleep", {"seconds": 3, "steps": 6, "log": str(log)})
    wait_for(lambda: events(log), 15, "the job to start")
    victim_pid = events(log)[0][1]
    victim = first if first.pid == victim_pid else second
    survivor = second if victim is first else first
    wait_for(lambda: service.get(job_id).progress > 0, 10, "progress from the first attempt")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(5)

    job = service.wait(job_id, timeout=30)
    assert job.state == "succeeded", (job.state, job.error)
    assert job.attempts == 2
    assert job.result["pid"] == survivor.pid
    assert events(log) == [("start", victim.pid), ("start", survivor.pid), ("done", survivor.pid)]
    attempts = service.store.attempts(job_id)
    assert [a.outcome for a in attempts] == ["lost", "succeeded"]
    assert attempts[0].worker_id.split(":")[1] == str(victim.pid)
    assert attempts[1].worker_id.split(":")[1] == str(survivor.pid)
    assert ready_messages(amqp_url, names) == 0
    metrics = requests.get(f"http://127.0.0.1:{ports[survivor is second]}/metrics", timeout=5)
    assert 'agent_jobs_finished_total{kind="test.sleep",state="succeeded"} 1.0' in metrics.text

    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(15) == 0


def test_sigterm_lets_the_current_job_finish_then_exits_0(workers, service, tmp_path):
    worker = workers()
    log = tmp_path / "events"
    job_id = service.submit("test.sleep", {"seconds": 1.5, "steps": 3, "log": str(log)})
    wait_for(lambda: events(log), 30, "the job to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    job = service.get(job_id)
    assert job.state == "succeeded" and job.attempts == 1
    assert [e for e, _ in events(log)] == ["start", "done"]


def test_sigterm_hands_back_a_job_that_outlasts_the_grace(
    workers, service, database, names, amqp_url, tmp_path
):
    worker = workers(AGENT_JOBS_STOP_GRACE_S="0.5")
    log = tmp_path / "events"
    job_id = service.submit("test.sleep", {"seconds": 30, "steps": 30, "log": str(log)})
    try:
        wait_for(lambda: events(log), 30, "the job to start")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
        job = service.get(job_id)
        assert job.state == "queued" and job.attempts == 0 and job.worker_id is None
        assert [a.outcome for a in service.store.attempts(job_id)] == ["released"]
        assert ready_messages(amqp_url, names) == 1  # requeued for the next worker
    finally:
        with database.connection() as conn:
            conn.execute("DELETE FROM jobs WHERE id = %s", (job_id,))


def test_worker_needs_rabbitmq_and_importable_handlers(tmp_path, pg_dsn, amqp_url):
    no_queue = run_cli("worker", env=cli_env(DATABASE_URL=pg_dsn, AGENT_DATA_DIR=str(tmp_path)))
    assert no_queue.returncode == 1 and "set AMQP_URL" in no_queue.stderr
    env = cli_env(DATABASE_URL=pg_dsn, AMQP_URL=amqp_url, AGENT_DATA_DIR=str(tmp_path))
    missing = run_cli("worker", "--handlers", "no_such_module_xyz", env=env)
    assert missing.returncode == 1
    assert "cannot import job handler module 'no_such_module_xyz'" in missing.stderr


def test_systemd_worker_unit_runs_this_command_and_outwaits_the_stop_grace():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(REPO / "deploy" / "systemd" / "agent-service-worker@.service")
    service = unit["Service"]
    program, *args = service["ExecStart"].split()
    assert program.endswith("/agent-service") and args[0] in main.commands
    assert main.commands[args[0]] is worker_command
    assert service["KillSignal"] == "SIGTERM"
    grace = Settings.model_fields["jobs_stop_grace_s"].default
    assert int(service["TimeoutStopSec"]) > grace
