"""One attempt's state machine: a handler whose job was taken over stops at its next
progress report, and its result is never stored."""

from __future__ import annotations

import threading
import time

import tests.support.job_handlers  # noqa: F401 - registers the test.* kinds
from capabilities.engines.jobs.runner import JobRunner, Outcome
from tests.support.job_handlers import events
from tools.jobs_store import JobStore


def test_a_handler_that_lost_its_lease_stops_at_the_next_progress_report(job_database, tmp_path):
    store = JobStore(job_database)
    runner = JobRunner(store, lease_s=30)
    log = tmp_path / "events"
    job, _ = store.insert(
        "test.sleep", {"seconds": 5, "steps": 50, "log": str(log)}, max_attempts=3
    )
    claimed = runner.claim(job.id, "slow-worker")
    outcome: list[Outcome] = []

    thread = threading.Thread(target=lambda: outcome.append(runner.execute(claimed)))
    thread.start()
    time.sleep(0.5)
    with job_database.connection() as conn:  # as if the slow worker missed its renewals
        conn.execute("UPDATE jobs SET lease_expires_at = now() WHERE id = %s", (job.id,))
    assert store.claim(job.id, "other-worker", lease_s=30) is not None
    thread.join(10)
    runner.close()
    assert outcome == [Outcome.LOST]
    assert [e for e, _ in events(log)] == ["start"]  # stopped before its 5 s of work
    current = store.get(job.id)
    assert current.state == "running" and current.worker_id == "other-worker"
    assert current.attempts == 2 and current.result is None
    with job_database.connection() as conn:  # nobody runs attempt 2: keep sweepers off it
        conn.execute("DELETE FROM jobs WHERE id = %s", (job.id,))
