"""Prometheus metrics of jobs (exposed by the web process's /metrics, and by a worker
started with --metrics-port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS_SUBMITTED = Counter("agent_jobs_submitted_total", "Jobs submitted by kind", ["kind"])
JOB_ATTEMPTS = Counter(
    "agent_job_attempts_total",
    "Job attempts by kind and outcome (succeeded, retry, failed, lost, released)",
    ["kind", "outcome"],
)
JOBS_FINISHED = Counter(
    "agent_jobs_finished_total", "Jobs reaching a final state, by kind and state", ["kind", "state"]
)
JOB_DURATION = Histogram(
    "agent_job_duration_seconds",
    "Run time of one job attempt, by kind",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
JOBS_UNFINISHED = Gauge(
    "agent_jobs_unfinished",
    "Queued and running jobs in PostgreSQL (refreshed by each sweep)",
    ["state"],
    multiprocess_mode="livemax",
)
QUEUE_DEPTH = Gauge(
    "agent_jobs_queue_depth",
    "Messages ready in the RabbitMQ work queue (refreshed by each worker sweep)",
    ["queue"],
    multiprocess_mode="livemax",
)
