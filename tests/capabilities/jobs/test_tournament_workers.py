"""A tournament on RabbitMQ workers: chunks played by several workers, merged in order,
the summary stored and published on the events exchange."""

from __future__ import annotations

import json
import threading
import uuid

import capabilities.tournaments.jobs  # noqa: F401 - registers the tournament kinds
from capabilities.engines.jobs import JobService
from capabilities.engines.jobs.context import set_job_events, set_submitter_factory
from capabilities.engines.jobs.runner import JobRunner
from capabilities.engines.jobs.worker import QueueWorker
from capabilities.tournaments import store
from capabilities.tournaments.jobs import KIND
from tests.capabilities.jobs.test_jobs_queue import job_config
from tests.support.amqp import Topology
from tools.jobs_store import JobStore
from tools.publisher import EventPublisher


def test_chunks_run_on_several_workers_and_the_summary_is_published(
    job_database, queue_names, amqp_url
):
    config = job_config(queue_names)
    service = JobService(JobStore(job_database), config, amqp_url=amqp_url)
    topology = Topology(amqp_url, prefix="tourney")
    exchange = topology.bind_exchange("tournament.#")
    events = EventPublisher(amqp_url, exchange)
    set_submitter_factory(lambda _db: service.submit)
    set_job_events(events)
    workers = [
        QueueWorker(
            JobRunner(JobStore(job_database), lease_s=5.0),
            amqp_url,
            config,
            concurrency=1,
            worker_id=f"w{i}-{uuid.uuid4().hex[:6]}",
        )
        for i in range(2)
    ]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    try:
        spec = {
            "mode": "rising_hazard",
            "max_rounds": 2400,
            "chunk_rounds": 300,
            "sprt": {"h1": 0.001},
            "entrants": [
                {"kind": "oracle", "name": "oracle"},
                {"kind": "archetype", "name": "eager", "archetype": "aggressive"},
            ],
        }
        job_id = service.submit(KIND, spec)
        job = service.wait(job_id, timeout=120)
        assert job.state == "succeeded", job.error
        assert job.result["status"] == "budget_exhausted" and job.result["rounds"] == 2400
        with job_database.connection() as conn:  # a chunk job for every chunk, all done
            chunk_ids = conn.execute(
                "SELECT id FROM jobs WHERE kind = 'tournament.chunk' "
                "AND payload->>'tournament_id' = %s",
                (str(job_id),),
            ).fetchall()
        chunk_jobs = [service.wait(i, timeout=30) for (i,) in chunk_ids]
        assert len(chunk_jobs) == 8 and {j.state for j in chunk_jobs} == {"succeeded"}
        states = store.chunk_states(job_database, job_id)
        assert sorted(states) == list(range(8)) and set(states.values()) == {"done"}
        row = store.get(job_database, job_id)
        assert row is not None and row[6]["rounds"] == 2400
        topology.wait_depth(1, within=10)
        (_, body), *_ = topology.drain(topology.queue)
        summary = json.loads(body)
        assert summary["tournament_id"] == str(job_id) and summary["rounds"] == 2400
        assert summary["ranking"] == job.result["ranking"]
    finally:
        for w in workers:
            w.stop()
        for t in threads:
            t.join(30)
        set_submitter_factory(None)
        set_job_events(None)
        events.close()
        service.close()
        topology.close()
