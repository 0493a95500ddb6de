"""Open-loop HTTP load against a real `agent-service serve`, from a second process.

Starts the service (embedded backends unless DATABASE_URL/QDRANT_URL are set, or use
--url to hit one already running), sends requests at a fixed rate over keep-alive
connections, and prints throughput and latency percentiles per endpoint. Latency is
measured from each request's scheduled start, so a stalled server is not hidden
(no coordinated omission).

    python bench/http_load.py --rate 200 --seconds 20
    python bench/http_load.py --url http://127.0.0.1:8000 --key KEY --path /v1/info
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
KEY = "bench-key-0123456789abcdef"


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def start_service(
    port: int, workers: int, threads: int, data_dir: Path, source: Path = REPO
) -> subprocess.Popen:
    """`agent-service serve` from the code in `source` (this checkout by default)."""
    env = {
        **os.environ,
        "AGENT_API_KEYS": KEY,
        "AGENT_PORT": str(port),
        "AGENT_DATA_DIR": str(data_dir),
        "AGENT_WORKERS": str(workers),
        "AGENT_THREADS": str(threads),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")])),
    }
    log = open(data_dir / "service.log", "w")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_service", "serve"],
        env=env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                wait_for_seed(f"http://127.0.0.1:{port}", deadline)
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"service exited; see {data_dir / 'service.log'}")
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("service did not become ready within 180 s")


def wait_for_seed(base: str, deadline: float) -> None:
    """A fresh service seeds its knowledge base in the background (loading the embedding
    model, embedding the starter documents: seconds of CPU); measure after it."""
    headers = {"Authorization": f"Bearer {KEY}"}
    while time.monotonic() < deadline:
        r = requests.post(base + "/v1/knowledge/search", json={"query": "sidebet window"},
                          headers=headers, timeout=60)  # fmt: skip
        if r.status_code == 200 and r.json().get("chunks"):
            time.sleep(2.0)  # the seed's last collections
            return
        time.sleep(1.0)


@contextmanager
def service(url: str | None, workers: int, threads: int, source: Path = REPO) -> Iterator[str]:
    """The base URL to load: `url`, or a fresh service (from `source`) started here and
    stopped after."""
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        port = 18000 + os.getpid() % 1000
        proc = start_service(port, workers, threads, Path(tmp), source)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


def run_load(
    base: str,
    path: str,
    key: str,
    rate: float,
    seconds: float,
    connections: int,
    method: str = "GET",
    body: dict | None = None,
    give_up_after: float | None = None,
) -> dict:
    """`give_up_after` seconds past the end, requests not yet sent count as errors with
    their delay so far (a stalled server would otherwise keep the run going for ever)."""
    interval = connections / rate
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    begin = time.perf_counter() + 0.2

    def worker(offset: int) -> None:
        nonlocal errors
        session = requests.Session()
        headers = {"Authorization": f"Bearer {key}"}
        n = 0
        while True:
            scheduled = begin + offset * (interval / connections) + n * interval
            if scheduled - begin > seconds:
                return
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if give_up_after is not None and time.perf_counter() > begin + seconds + give_up_after:
                with lock:
                    latencies.append(time.perf_counter() - scheduled)
                    errors += 1
                n += 1
                continue
            try:
                response = session.request(
                    method, base + path, headers=headers, json=body, timeout=5
                )
                ok = response.status_code < 400
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - scheduled
            with lock:
                latencies.append(elapsed)
                errors += 0 if ok else 1
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - begin
    ordered = sorted(latencies)
    return {
        "path": path,
        "requests": len(ordered),
        "errors": errors,
        "target_rps": rate,
        "achieved_rps": round(len(ordered) / wall, 1),
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p95_ms": round(percentile(ordered, 95) * 1000, 2),
        "p99_ms": round(percentile(ordered, 99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="hit a running service instead of starting one")
    parser.add_argument("--key", default=KEY, help="API key for --url")
    parser.add_argument("--path", action="append", help="endpoint(s); default /health, /v1/info")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    args = parser.parse_args()
    paths = args.path or ["/health", "/v1/info"]

    with service(args.url, args.workers, args.threads) as base:
        for path in paths:
            result = run_load(base, path, args.key, args.rate, args.seconds, args.connections)
            if args.json:
                print(json.dumps(result))
            else:
                print(
                    f"{path:<12} {result['requests']:>6} req  {result['errors']} err  "
                    f"{result['achieved_rps']:>7} req/s (target {args.rate:g})  "
                    f"p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  "
                    f"p99 {result['p99_ms']} ms  max {result['max_ms']} ms"
                )


if __name__ == "__main__":
    main()
