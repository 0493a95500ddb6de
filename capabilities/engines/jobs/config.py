"""The job settings (AGENT_JOBS_*) in one object, shared by the service, the in-process
executor and the queue worker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobConfig:
    queue: str = "agent.jobs"
    max_attempts: int = 3
    lease_s: float = 30.0
    threads: int = 2
    sweep_interval_s: float = 15.0
    requeue_after_s: float = 600.0
    stop_grace_s: float = 25.0
    retry_delay_s: float = 5.0
