"""The RabbitMQ job worker: consumers with prefetch 1 that ack a message only once the
job's outcome is committed in PostgreSQL.

A message whose worker dies unacked is redelivered by RabbitMQ to another consumer; that
consumer waits for the dead worker's lease to run out (a live worker would renew it),
then claims the job as its next attempt. A failed attempt waits out the retry delay in
the retry queue; a job out of attempts goes to the dead-letter queue with the reason. A
sweeper re-publishes jobs that no message
carries (a failed publish, an expired lease nobody reclaimed). On stop, a consumer lets
its current job finish within the grace period, otherwise gives the job back and
requeues its message.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError

from capabilities.engines.jobs.config import JobConfig
from capabilities.engines.jobs.metrics import JOBS_FINISHED, JOBS_UNFINISHED, QUEUE_DEPTH
from capabilities.engines.jobs.runner import JobRunner, Outcome
from tools.amqp import connection_parameters
from tools.errors import BackendUnavailable
from tools.jobs_queue import JobPublisher, QueueNames, declare, decode, encode
from tools.jobs_store import Job

log = logging.getLogger(__name__)
_PUMP_S = 0.2  # how often a consumer services its connection while a job runs


@dataclass(frozen=True)
class _Verdict:
    """What to do with a message once its job is dealt with."""

    action: Literal["ack", "requeue", "retry", "dead-letter"]
    reason: str = ""


ACK, REQUEUE, RETRY = _Verdict("ack"), _Verdict("requeue"), _Verdict("retry")


class QueueWorker:
    def __init__(
        self, runner: JobRunner, url: str, config: JobConfig, *, concurrency: int, worker_id: str
    ) -> None:
        self._runner = runner
        self._store = runner.store
        self._url = url
        self._names = names = QueueNames(config.queue)
        self._config = config
        self._concurrency = concurrency
        self._worker_id = worker_id
        self._publisher = JobPublisher(url, names)
        self._stop = threading.Event()
        self.failure: Exception | None = None

    def stop(self) -> None:
        """Ask every consumer to finish its current job and exit (signal-handler safe)."""
        self._stop.set()

    def run(self) -> None:
        """Consume until `stop()`; returns once every consumer has exited (check
        `failure` for a consumer that crashed)."""
        threads = [
            threading.Thread(target=self._consume, args=(f"{self._worker_id}:{n}",), name=f"c{n}")
            for n in range(self._concurrency)
        ]
        sweeper = threading.Thread(target=self._sweep_loop, name="job-sweeper", daemon=True)
        for thread in threads:
            thread.start()
        sweeper.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
        sweeper.join(30)  # a sweep in progress finishes before its publisher closes
        self._publisher.close()
        self._runner.close()

    # -- consuming
    def _consume(self, consumer_id: str) -> None:
        """One consumer; an unexpected error stops the whole worker (exit 1, restarted by
        systemd) rather than leaving it running with fewer consumers."""
        try:
            self._consume_until_stopped(consumer_id)
        except Exception as exc:
            log.exception("consumer crashed", extra={"worker": consumer_id})
            self.failure = exc
            self._stop.set()

    def _consume_until_stopped(self, consumer_id: str) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                params = connection_parameters(self._url, heartbeat=30)
                connection = pika.BlockingConnection(params)
                try:
                    channel = connection.channel()
                    declare(channel, self._names)
                    channel.basic_qos(prefetch_count=1)
                    backoff = 1.0
                    log.info("consuming", extra={"queue": self._names.queue, "worker": consumer_id})
                    for method, _props, body in channel.consume(
                        self._names.queue, inactivity_timeout=0.5
                    ):
                        if method is not None:
                            self._deliver(connection, channel, method, body, consumer_id)
                        if self._stop.is_set():
                            break
                    channel.cancel()
                finally:
                    if connection.is_open:
                        connection.close()
            except (AMQPError, OSError) as exc:
                log.warning("rabbitmq connection lost", extra={"detail": str(exc)})
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _deliver(
        self,
        connection: pika.BlockingConnection,
        channel: BlockingChannel,
        method: pika.spec.Basic.Deliver,
        body: bytes,
        consumer_id: str,
    ) -> None:
        tag = method.delivery_tag
        try:
            job_id = decode(body)
        except ValueError as exc:
            self._dead_letter(channel, tag, body, str(exc))
            return
        try:
            verdict = self._handle(connection, job_id, bool(method.redelivered), consumer_id)
        except (AMQPError, OSError):
            raise  # the connection is gone: the consumer reconnects, RabbitMQ redelivers
        except BackendUnavailable as exc:  # PostgreSQL is down: keep the message for later
            log.warning("job deferred", extra={"job_id": str(job_id), "detail": exc.detail})
            connection.sleep(1.0)
            channel.basic_nack(tag, requeue=True)
            return
        except Exception:  # a bug: the claimed attempt expires and counts against the job
            log.exception("job message not processed", extra={"job_id": str(job_id)})
            connection.sleep(1.0)
            channel.basic_nack(tag, requeue=True)
            return
        if verdict.action == "dead-letter":
            self._dead_letter(channel, tag, encode(job_id), verdict.reason)
        elif verdict.action == "retry":
            self._retry(channel, tag, job_id)
        elif verdict.action == "requeue":
            channel.basic_nack(tag, requeue=True)
        else:
            channel.basic_ack(tag)

    def _handle(
        self,
        connection: pika.BlockingConnection,
        job_id: uuid.UUID,
        redelivered: bool,
        consumer_id: str,
    ) -> _Verdict:
        """Claim and run the message's job, or decide the message is a duplicate."""
        seen_lease = None
        while True:
            job = self._runner.claim(job_id, consumer_id)
            if job is not None:
                return self._run(connection, job)
            current = self._store.get(job_id)
            if current is None or current.finished:
                return ACK  # unknown (deleted) or already done: a duplicate message
            if current.state != "running" or current.lease_left_s is None:
                return ACK  # queued yet not claimable: cannot happen with a valid row
            if current.lease_left_s <= 0 and current.attempts >= current.max_attempts:
                failed = self._store.fail_abandoned(job_id)
                if failed is None:
                    continue
                JOBS_FINISHED.labels(kind=failed.kind, state="failed").inc()
                return _Verdict("dead-letter", failed.error or "lease expired on the last attempt")
            if self._stop.is_set():
                return REQUEUE  # for a worker that is not stopping
            if not redelivered:
                return ACK  # a live worker holds it; its own message is unacked
            if seen_lease is not None and current.lease_expires_at != seen_lease:
                return ACK  # the holder renewed its lease: it is alive
            # redelivered: the previous holder's connection dropped; wait out its lease
            seen_lease = current.lease_expires_at
            deadline = time.monotonic() + min(current.lease_left_s, self._runner.lease_s) + 0.1
            while time.monotonic() < deadline and not self._stop.is_set():
                connection.sleep(_PUMP_S)

    def _run(self, connection: pika.BlockingConnection, job: Job) -> _Verdict:
        """Run the handler in a thread while this thread keeps the connection alive."""
        box: dict[str, object] = {}
        done = threading.Event()

        def target() -> None:
            try:
                box["outcome"] = self._runner.execute(job)
            except BaseException as exc:  # surfaced below, in the consumer thread
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=target, name=f"job-{job.id}", daemon=True).start()
        grace_end = None
        while not done.wait(_PUMP_S):
            connection.process_data_events(time_limit=0)  # heartbeats while the job runs
            if self._stop.is_set():
                grace_end = grace_end or time.monotonic() + self._config.stop_grace_s
                if time.monotonic() >= grace_end and self._runner.release(job):
                    log.info("job released at shutdown", extra={"job_id": str(job.id)})
                    return REQUEUE
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        outcome = box["outcome"]
        if outcome is Outcome.RETRY:
            return RETRY
        if outcome is Outcome.FAILED:
            failed = self._store.get(job.id)
            return _Verdict("dead-letter", (failed.error if failed else None) or "failed")
        return ACK

    def _retry(self, channel: BlockingChannel, tag: int, job_id: uuid.UUID) -> None:
        """Send the job through the retry queue (its delay), then ack; with no delay, or
        if that publish fails, requeue the message itself (an immediate retry)."""
        delay = self._config.retry_delay_s
        if delay > 0:
            try:
                self._publisher.publish(job_id, delay_s=delay)
            except (AMQPError, OSError) as exc:
                log.warning("retry publish failed", extra={"detail": str(exc)})
            else:
                channel.basic_ack(tag)
                return
        channel.basic_nack(tag, requeue=True)

    def _dead_letter(self, channel: BlockingChannel, tag: int, body: bytes, reason: str) -> None:
        """Park the message with its reason, then ack; if that publish fails, reject it so
        the queue's own dead-letter exchange takes it (without the reason)."""
        try:
            self._publisher.dead_letter(body, reason)
        except (AMQPError, OSError) as exc:
            log.warning("dead-letter publish failed", extra={"detail": str(exc)})
            channel.basic_nack(tag, requeue=False)
            return
        channel.basic_ack(tag)

    # -- sweeping
    def sweep(self) -> int:
        """Publish a message for every job that has none in flight; refresh gauges."""
        ids = self._store.sweep(
            unpublished_s=self._runner.lease_s, stale_s=self._config.requeue_after_s
        )
        for n, job_id in enumerate(ids):
            try:
                self._publisher.publish(job_id)
            except (AMQPError, OSError):
                self._store.clear_enqueued(ids[n:])
                raise
        for state, count in self._store.counts().items():
            JOBS_UNFINISHED.labels(state=state).set(count)
        QUEUE_DEPTH.labels(queue=self._names.queue).set(self._publisher.queue_depth())
        return len(ids)

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self._config.sweep_interval_s):
            try:
                found = self.sweep()
                if found:
                    log.info("jobs re-published", extra={"jobs": found})
            except (BackendUnavailable, AMQPError, OSError) as exc:
                log.warning("job sweep failed", extra={"detail": str(exc)})
