"""One attempt of one job: claim, run the handler with a progress callback, record the
outcome. Shared by the RabbitMQ worker and the in-process executor, so both follow the
same state machine:

    queued --claim--> running --ok--> succeeded
                         |--error, attempts left--> queued (retry)
                         |--error, none left------> failed
                         |--rejection (ServiceError)-> failed (no retry can succeed)
                         |--lease expired---------> reclaimed by another worker
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from capabilities.engines.jobs.context import bound_database
from capabilities.engines.jobs.metrics import JOB_ATTEMPTS, JOB_DURATION, JOBS_FINISHED
from capabilities.engines.jobs.registry import Progress, handler_for
from tools.errors import BackendUnavailable, ServiceError
from tools.jobs_store import Job, JobStore

log = logging.getLogger(__name__)
_PROGRESS_MIN_INTERVAL_S = 0.2  # progress writes are throttled to this


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"
    FAILED = "failed"
    LOST = "lost"  # another worker took the lease over; this attempt's result is dropped
    RELEASED = "released"


class LeaseLost(Exception):
    """Raised inside a handler (from `progress`) once its job belongs to another worker."""


class Stopping(Exception):
    """Raised inside a handler (from `progress`) once its process is shutting down: the
    job is given back (its attempt not counted) instead of holding the shutdown up."""


@dataclass(frozen=True)
class _Lease:
    job_id: uuid.UUID
    worker_id: str
    attempt: int


class LeaseKeeper:
    """Renews, every third of the lease, the leases of the jobs this process runs."""

    def __init__(self, store: JobStore, lease_s: float) -> None:
        self._store = store
        self._lease_s = lease_s
        self._held: dict[uuid.UUID, _Lease] = {}
        self._lost: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job: Job) -> None:
        with self._lock:
            self._held[job.id] = _Lease(job.id, job.worker_id or "", job.attempts)
            self._lost.discard(job.id)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="job-lease-keeper", daemon=True
                )
                self._thread.start()

    def drop(self, job_id: uuid.UUID) -> None:
        with self._lock:
            self._held.pop(job_id, None)
            self._lost.discard(job_id)

    def is_lost(self, job_id: uuid.UUID) -> bool:
        with self._lock:
            return job_id in self._lost

    def _loop(self) -> None:
        while not self._stop.wait(self._lease_s / 3):
            with self._lock:
                leases = list(self._held.values())
            for lease in leases:
                try:
                    kept = self._store.renew(
                        lease.job_id, lease.worker_id, lease.attempt, self._lease_s
                    )
                except BackendUnavailable as exc:
                    log.warning("cannot renew a job lease", extra={"detail": exc.detail})
                    continue
                if not kept:
                    with self._lock:
                        if lease.job_id in self._held:
                            self._lost.add(lease.job_id)

    def close(self) -> None:
        """Stop renewing; returns once a renewal in progress is done."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(10)


class JobRunner:
    """Claims and executes jobs for one process."""

    def __init__(self, store: JobStore, *, lease_s: float) -> None:
        self.store = store
        self.lease_s = lease_s
        self.keeper = LeaseKeeper(store, lease_s)
        self.stopping = threading.Event()  # set at shutdown: `progress` raises Stopping

    def claim(self, job_id: uuid.UUID, worker_id: str) -> Job | None:
        return self.store.claim(job_id, worker_id, self.lease_s)

    def execute(self, job: Job) -> Outcome:
        """Run a claimed job's handler in this thread and record how the attempt ended."""
        worker_id, attempt = job.worker_id or "", job.attempts
        self.keeper.hold(job)
        started = time.perf_counter()
        try:
            outcome = self._attempt(job, worker_id, attempt)
        finally:
            self.keeper.drop(job.id)
        JOB_DURATION.labels(kind=job.kind).observe(time.perf_counter() - started)
        JOB_ATTEMPTS.labels(kind=job.kind, outcome=outcome.value).inc()
        if outcome in (Outcome.SUCCEEDED, Outcome.FAILED):
            JOBS_FINISHED.labels(kind=job.kind, state=outcome.value).inc()
        return outcome

    def _attempt(self, job: Job, worker_id: str, attempt: int) -> Outcome:
        handler = handler_for(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r} in this process")
            with bound_database(self.store.database, job.id):
                result = handler(dict(job.payload), self._progress(job, worker_id, attempt))
            if not isinstance(result, dict):
                raise TypeError(f"the handler returned {type(result).__name__}, not a dict")
            json.dumps(result, allow_nan=False)  # jsonb refuses NaN and non-JSON values
            stored = self.store.succeed(job.id, worker_id, attempt, result)  # fenced
            return Outcome.SUCCEEDED if stored else Outcome.LOST
        except LeaseLost:
            return Outcome.LOST
        except Stopping:
            return Outcome.RELEASED if self.release(job) else Outcome.LOST
        except BackendUnavailable:
            raise  # the outcome is unknown to PostgreSQL: the lease decides what comes next
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "job attempt failed",
                extra={"job_id": str(job.id), "kind": job.kind, "attempt": attempt, "error": error},
            )
            # a ServiceError (bad input, missing data...) is the job's answer, not a fault:
            # another attempt would meet it again
            final = isinstance(exc, ServiceError)
            if final:
                error = exc.detail  # type: ignore[attr-defined]
            state = self.store.fail_attempt(job.id, worker_id, attempt, error, final=final)
            if state == "queued":
                return Outcome.RETRY
            return Outcome.FAILED if state == "failed" else Outcome.LOST

    def _progress(self, job: Job, worker_id: str, attempt: int) -> Progress:
        last = [0.0]

        def progress(fraction: float, message: str = "") -> None:
            """Record progress (0..1) and renew the lease; raises LeaseLost when the job
            was taken over, which stops a handler that reports progress."""
            if self.keeper.is_lost(job.id):
                raise LeaseLost(str(job.id))
            if self.stopping.is_set():
                raise Stopping(str(job.id))
            now = time.monotonic()
            if now - last[0] < _PROGRESS_MIN_INTERVAL_S and fraction < 1:
                return
            last[0] = now
            try:
                kept = self.store.report_progress(
                    job.id, worker_id, attempt, float(fraction), message or None, self.lease_s
                )
            except BackendUnavailable as exc:  # progress is best effort; the lease keeper retries
                log.warning("cannot record job progress", extra={"detail": exc.detail})
                return
            if not kept:
                raise LeaseLost(str(job.id))

        return progress

    def release(self, job: Job) -> bool:
        """Give an unfinished job back (shutdown): its attempt is not counted."""
        released = self.store.release(job.id, job.worker_id or "", job.attempts)
        if released:
            JOB_ATTEMPTS.labels(kind=job.kind, outcome=Outcome.RELEASED.value).inc()
        return released

    def close(self) -> None:
        self.keeper.close()
