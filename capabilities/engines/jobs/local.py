"""In-process job execution (no RabbitMQ): a bounded thread pool in this process, with
the same store and state machine as the queue workers.

A sweeper thread hands the pool every job that nobody carries: at start (jobs left
`queued` or `running` by a crashed process) and then every sweep interval (leases that
expired, submits whose hand-off was lost). Several processes may sweep the same table:
the claim in PostgreSQL lets only one of them run a job.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from capabilities.engines.jobs.config import JobConfig
from capabilities.engines.jobs.metrics import JOBS_FINISHED, JOBS_UNFINISHED
from capabilities.engines.jobs.runner import JobRunner, Outcome
from tools.errors import BackendUnavailable

log = logging.getLogger(__name__)


class LocalExecutor:
    def __init__(self, runner: JobRunner, config: JobConfig, *, worker_id: str) -> None:
        self._runner = runner
        self._store = runner.store
        self._config = config
        self._worker_id = worker_id
        self._pool = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="job")
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="job-sweeper", daemon=True)
        self._sweeper.start()

    def enqueue(self, job_id: uuid.UUID) -> None:
        try:
            self._pool.submit(self._run, job_id)
        except RuntimeError:  # shut down: the job stays queued for the next start's sweep
            log.info("job left queued at shutdown", extra={"job_id": str(job_id)})

    def _run(self, job_id: uuid.UUID) -> None:
        try:
            job = self._runner.claim(job_id, self._worker_id)
            if job is None:
                abandoned = self._store.fail_abandoned(job_id)
                if abandoned is not None:
                    JOBS_FINISHED.labels(kind=abandoned.kind, state="failed").inc()
                return  # otherwise finished, or held by a live worker
            if self._runner.execute(job) is Outcome.RETRY and not self._stop.is_set():
                self._retry_later(job_id)
        except BackendUnavailable as exc:  # the sweeper picks the job up again later
            log.warning("job not run", extra={"job_id": str(job_id), "detail": exc.detail})
        except Exception:  # a bug: logged; the job's lease expires and the sweeper retries
            log.exception("job run crashed", extra={"job_id": str(job_id)})

    def _retry_later(self, job_id: uuid.UUID) -> None:
        """Enqueue again after the retry delay (a lost timer is covered by the sweeper)."""
        timer = threading.Timer(self._config.retry_delay_s, self.enqueue, (job_id,))
        timer.daemon = True
        timer.start()

    def sweep(self, *, first: bool = False) -> int:
        """Hand orphaned jobs to the pool; at start every queued job is orphaned."""
        ids = self._store.sweep(
            unpublished_s=0 if first else self._runner.lease_s,
            stale_s=0 if first else self._config.requeue_after_s,
        )
        for job_id in ids:
            self.enqueue(job_id)
        for state, count in self._store.counts().items():
            JOBS_UNFINISHED.labels(state=state).set(count)
        return len(ids)

    def _sweep_loop(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                found = self.sweep(first=first)
                if found:
                    log.info("jobs resumed", extra={"jobs": found})
                first = False
            except BackendUnavailable as exc:
                log.warning("job sweep failed", extra={"detail": exc.detail})
            self._stop.wait(self._config.sweep_interval_s)

    def close(self) -> None:
        """Stop taking jobs and wait for the running ones (queued ones stay queued for
        the next sweep); afterwards no thread of this executor uses the database."""
        self._stop.set()
        self._runner.stopping.set()  # handlers that report progress give their job back
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._sweeper.join(30)
        self._runner.close()
