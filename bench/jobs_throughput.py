"""Job throughput through RabbitMQ and `agent-service worker` processes.

On a queue of its own:
1. submits --jobs trivial jobs (the submit call's latency and rate, one thread);
2. starts --workers worker processes on that backlog and measures jobs/s once every
   worker is consuming (from the latest worker's first start to the last finish, on
   PostgreSQL timestamps), so neither submits nor worker start-up are counted;
3. submits --paced jobs at --rate per second and measures submit -> start latency
   (started_at - created_at) p50/p95, the queue's hand-off delay.
Needs DATABASE_URL and AMQP_URL (the bench's jobs and queue are removed afterwards).

    DATABASE_URL=postgresql://postgres@127.0.0.1/bench AMQP_URL=amqp://guest:guest@127.0.0.1/%2F \
        python bench/jobs_throughput.py --workers 2 --jobs 500
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pika  # noqa: E402

from capabilities.engines.jobs import JobConfig, JobService, Progress, handler  # noqa: E402
from tools.amqp import connection_parameters  # noqa: E402
from tools.jobs_queue import QueueNames, declare  # noqa: E402
from tools.jobs_store import JobStore  # noqa: E402

KIND = "bench.noop"


@handler(KIND)
def noop(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The trivial job: what remains is the machinery's own cost."""
    return {"n": payload["n"]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def start_workers(n: int, queue: str, data_dir: Path, concurrency: int) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "AGENT_JOBS_QUEUE": queue,
        "AGENT_DATA_DIR": str(data_dir),
        "AGENT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "agent_service", "worker", "--handlers"]
    command += ["bench.jobs_throughput", "--concurrency", str(concurrency)]
    return [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(n)
    ]


def on_queue(url: str, names: QueueNames, action: str) -> int:
    """Declare the queues and return the consumer count, or delete them."""
    connection = pika.BlockingConnection(connection_parameters(url))
    channel = connection.channel()
    try:
        if action == "delete":
            channel.queue_delete(names.queue)
            channel.queue_delete(names.dead_queue)
            channel.queue_delete(names.retry_queue)
            channel.exchange_delete(names.dead_exchange)
            return 0
        declare(channel, names)
        return int(channel.queue_declare(names.queue, passive=True).method.consumer_count)
    finally:
        connection.close()


def wait_consumers(url: str, names: QueueNames, n: int, within: float) -> None:
    deadline = time.monotonic() + within
    while on_queue(url, names, "count") < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{n} workers did not start consuming within {within} s")
        time.sleep(0.5)


def wait_done(store: JobStore, ids: list[uuid.UUID], within: float) -> None:
    deadline = time.monotonic() + within
    with store.database.connection() as conn:
        while time.monotonic() < deadline:
            left = conn.execute(
                "SELECT count(*) FROM jobs WHERE id = ANY(%s) AND state <> 'succeeded'", (ids,)
            ).fetchone()[0]
            if left == 0:
                return
            time.sleep(0.2)
    raise TimeoutError(f"{left} jobs not finished within {within} s")


def latencies(store: JobStore, ids: list[uuid.UUID]) -> list[float]:
    """Per job: seconds from submit to the start of its first attempt."""
    with store.database.connection() as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM started_at - created_at) FROM jobs WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
    return [float(r[0]) for r in rows]


def drain_rate(store: JobStore, ids: list[uuid.UUID]) -> tuple[int, float]:
    """Jobs finished after every worker had started one, and the seconds they took."""
    with store.database.connection() as conn:
        count, seconds = conn.execute(
            "WITH a AS (SELECT worker_id, started_at, finished_at FROM job_attempts"
            "  WHERE job_id = ANY(%s)),"
            " all_in AS (SELECT max(first) AS t FROM"
            "  (SELECT min(started_at) AS first FROM a GROUP BY worker_id) w)"
            " SELECT count(*), extract(epoch FROM max(finished_at) - (SELECT t FROM all_in))"
            " FROM a WHERE started_at >= (SELECT t FROM all_in)",
            (ids,),
        ).fetchone()
    return int(count), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="per worker")
    parser.add_argument("--jobs", type=int, default=500, help="backlog the workers drain")
    parser.add_argument("--paced", type=int, default=100, help="jobs of the paced phase")
    parser.add_argument("--rate", type=float, default=20.0, help="paced submits per second")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("AMQP_URL"):
        sys.exit("set DATABASE_URL and AMQP_URL")

    from agent_service.config import load_settings
    from agent_service.wiring import Backends, prepare

    url = os.environ["AMQP_URL"]
    names = QueueNames(f"bench.jobs.{uuid.uuid4().hex[:8]}")
    data_dir = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    settings = load_settings(jobs_queue=names.queue, data_dir=data_dir, log_level="WARNING")
    backends = Backends(prepare(settings))
    service = JobService(
        JobStore(backends.database), JobConfig(queue=names.queue), amqp_url=backends.amqp_url
    )
    workers: list[subprocess.Popen] = []
    ids: list[uuid.UUID] = []
    try:
        submit_s = []
        started = time.perf_counter()
        for n in range(args.jobs):
            t0 = time.perf_counter()
            ids.append(service.submit(KIND, {"n": n}))
            submit_s.append(time.perf_counter() - t0)
        submit_rate = args.jobs / (time.perf_counter() - started)
        burst = list(ids)
        workers = start_workers(args.workers, names.queue, data_dir, args.concurrency)
        wait_done(service.store, burst, within=600)
        drained, seconds = drain_rate(service.store, burst)

        wait_consumers(url, names, args.workers, within=120)
        paced = []
        next_at = time.monotonic()
        for n in range(args.paced):
            next_at += 1 / args.rate
            time.sleep(max(0.0, next_at - time.monotonic()))
            paced.append(service.submit(KIND, {"n": n}))
        ids += paced
        wait_done(service.store, paced, within=600)
        latency = latencies(service.store, paced)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(60)
        with backends.database.connection() as conn:
            conn.execute("DELETE FROM jobs WHERE id = ANY(%s)", (ids,))
        service.close()
        backends.close()
        on_queue(url, names, "delete")

    print(f"workers: {args.workers} x concurrency {args.concurrency}, trivial jobs")
    print(
        f"submit ({args.jobs}, one thread): {submit_rate:.0f}/s, "
        f"p50 {percentile(submit_s, 50) * 1000:.1f} ms, "
        f"p95 {percentile(submit_s, 95) * 1000:.1f} ms"
    )
    print(f"drain: {drained} jobs in {seconds:.2f} s = {drained / seconds:.0f} jobs/s")
    print(
        f"paced {args.rate:g}/s: submit->start p50 {percentile(latency, 50) * 1000:.1f} ms, "
        f"p95 {percentile(latency, 95) * 1000:.1f} ms, max {max(latency) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
