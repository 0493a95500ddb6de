"""A real `agent-service serve` for the footprint benches (memory, cold start, outage,
soak): started from any source tree (`--tree`: this checkout, or an unpacked `main` to
compare), in one of two shapes, with its processes found in /proc.

Shapes:
- `embedded`: nothing configured (pgserver PostgreSQL and Qdrant local mode under a temp
  data dir, jobs in-process, one web worker).
- `postgres`: external PostgreSQL only (a database of its own), the rest embedded.
- `production`: external PostgreSQL (a database of its own on 127.0.0.1:5432, dropped
  afterwards), RabbitMQ (127.0.0.1:5672, jobs queue and events exchange of its own,
  deleted afterwards), 2 web workers. There is no Qdrant server on this host: QDRANT_URL
  points at a closed port, so knowledge search is answered from the service's local
  mirror (its documented fallback), copied from a seeded embedded run; `/ready` then
  says qdrant is down, and the benches wait for the other components instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
KEY = "bench-key-0123456789abcdef"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


# -- processes and their memory ------------------------------------------------------
def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
    except OSError:
        return "?"


def memory_kb(pid: int) -> tuple[int, int] | None:
    """(RSS, PSS) in kB from /proc/PID/smaps_rollup; None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:"):
            values[parts[0]] = int(parts[1])
    return values.get("Rss:", 0), values.get("Pss:", 0)


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# -- the service ------------------------------------------------------------------------
@dataclass
class Service:
    tree: Path
    shape: str
    data_dir: Path
    workers: int = 2
    threads: int = 8
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    database: str | None = None
    amqp_names: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {KEY}"}

    def env(self) -> dict[str, str]:
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AGENT_")
            and k not in {"DATABASE_URL", "AMQP_URL", "QDRANT_URL", "HF_TOKEN", "PYTHONPATH"}
        }
        env = {
            **keep,
            "PYTHONPATH": str(self.tree),
            "AGENT_API_KEYS": KEY,
            "AGENT_PORT": str(self.port),
            "AGENT_DATA_DIR": str(self.data_dir),
            "AGENT_WORKERS": str(self.workers),
            "AGENT_THREADS": str(self.threads),
            "AGENT_LOG_LEVEL": "WARNING",
        }
        if self.shape in ("production", "postgres"):
            env.update(self._production_env())
        env.update(self.extra_env)
        return env

    def _production_env(self) -> dict[str, str]:
        import psycopg

        if self.database is None:
            self.database = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')
            tag = uuid.uuid4().hex[:8]
            self.amqp_names = [f"bench.jobs.{tag}", f"bench.events.{tag}"]
        database = {"DATABASE_URL": self.database_url()}
        if self.shape == "postgres":
            return database
        return {
            **database,
            "AMQP_URL": AMQP,
            "AGENT_JOBS_QUEUE": self.amqp_names[0],
            "AGENT_AMQP_EVENTS_EXCHANGE": self.amqp_names[1],
            "QDRANT_URL": f"http://127.0.0.1:{free_port()}",  # closed: the mirror answers
            "AGENT_KNOWLEDGE_SEED_ON_START": "false",
        }

    def database_url(self, port: int = 5432) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{self.database}"

    def cli(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "agent_service", *args],
            env=self.env(),
            cwd=self.tree,  # `python -m` puts the working directory first on sys.path
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"agent-service {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def start(self) -> float:
        """Start and return the seconds until `/health` answered."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "service.log").open("a")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent_service", "serve"],
            env=self.env(),
            cwd=self.tree,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.wait(lambda: requests.get(self.base + "/health", timeout=1).status_code == 200)
        return time.perf_counter() - started

    def wait(self, predicate, within: float = 300.0) -> float:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        while time.perf_counter() - started < within:
            if self.proc is not None and self.proc.poll() is not None:
                raise SystemExit(f"service exited; see {self.data_dir / 'service.log'}")
            with contextlib.suppress(requests.RequestException, ValueError, KeyError):
                if predicate():
                    return time.perf_counter() - started
            time.sleep(0.05)
        raise SystemExit(f"condition not met within {within} s; see {self.data_dir}/service.log")

    def ready(self) -> bool:
        """`/ready` is 200; in the production shape (no Qdrant server here), every
        component but qdrant is up."""
        r = requests.get(self.base + "/ready", timeout=15)
        if self.shape != "production":
            return r.status_code == 200
        components = r.json()["components"]
        return all(
            c["status"] in ("up", "disabled") for n, c in components.items() if n != "qdrant"
        )

    def wait_seeded(self) -> None:
        def seeded() -> bool:
            r = requests.post(self.base + "/v1/knowledge/search", json={"query": "sidebet"},
                              headers=self.headers, timeout=60)  # fmt: skip
            return r.status_code == 200 and len(r.json().get("chunks", [])) > 0

        self.wait(seeded)

    def pids(self) -> dict[str, int]:
        """Role -> pid: the gunicorn master, its workers, the embedded PostgreSQL's
        processes (postmaster and backends)."""
        assert self.proc is not None
        found = {"master": self.proc.pid}
        for i, pid in enumerate(children(self.proc.pid)):
            found[f"worker{i + 1}"] = pid
        pm = postmaster_pid(self.data_dir / "postgres")
        if pm is not None:
            found["postgres"] = pm
            for i, pid in enumerate(children(pm)):
                found[f"postgres.{i + 1}"] = pid
        return found

    def memory(self) -> dict[str, tuple[int, int]]:
        out = {}
        for role, pid in self.pids().items():
            m = memory_kb(pid)
            if m is not None:
                out[role] = m
        return out

    def stop(self, timeout: float = 60) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        if self.database is not None:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self.database = None
        if self.amqp_names:
            import pika

            queue, exchange = self.amqp_names
            with contextlib.closing(pika.BlockingConnection(pika.URLParameters(AMQP))) as c:
                for q in (queue, f"{queue}.retry", f"{queue}.dead"):
                    with contextlib.suppress(pika.exceptions.AMQPError):
                        c.channel().queue_delete(q)
                for x in (exchange, f"{queue}.dlx", f"{queue}.retry"):
                    with contextlib.suppress(pika.exceptions.AMQPError):
                        c.channel().exchange_delete(x)
            self.amqp_names = []


@contextlib.contextmanager
def running(service: Service) -> Iterator[Service]:
    try:
        yield service
    finally:
        service.cleanup()


def trees(before: str | None, work: Path) -> list[tuple[str, Path]]:
    """(label, source tree) to measure: `before` unpacked (when given), then this checkout."""
    found = [(before, unpack_tree(before, work / "before-tree"))] if before else []
    return [*found, ("this checkout", REPO)]


def seed_mirror(tree: Path, run_dir: Path) -> Path:
    """The knowledge mirror the production shape answers from (no Qdrant server here):
    written by an embedded run that seeds the starter base; returns its folder."""
    data = run_dir / "data-embedded"
    if not (data / "knowledge_mirror").exists():
        seed = Service(tree=tree, shape="embedded", data_dir=data)
        with running(seed):
            seed.start()
            seed.wait(seed.ready)
            seed.wait_seeded()
    return data / "knowledge_mirror"


def unpack_tree(ref: str, into: Path) -> Path:
    """`git archive` of `ref` from this repository, unpacked into `into` (for `--before`)."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


# -- the traffic the benches send -------------------------------------------------------
def requests_by_capability() -> dict[str, tuple[str, str, dict | None]]:
    """(method, path, body) of one request per capability, varied by the caller."""
    state = {"mode": "classic", "tick": 180, "price": 1.6, "position_qty": 0.5}
    return {
        "coach": ("POST", "/v1/coach/strategy", state),
        "hybrid": ("POST", "/v1/hybrid/decide",
                   {"state": {"tick": 230, "price": 1.9}, "rl_action": 1, "bot_id": "bench"}),
        "knowledge": ("POST", "/v1/knowledge/search", {"query": "sidebet window rug hazard"}),
        "explain": ("POST", "/v1/analyst/explain",
                    {"state": {"tick": 230, "price": 1.9}, "action": "hold"}),
        "info": ("GET", "/v1/info", None),
        "health": ("GET", "/health", None),
        "stats": ("GET", "/v1/hybrid/stats?since_hours=1", None),
        "jobs": ("GET", f"/v1/jobs/{uuid.UUID(int=7)}", None),
        "ready": ("GET", "/ready", None),
    }  # fmt: skip


CAPABILITIES = ("coach", "hybrid", "knowledge", "explain")


def varied(name: str, body: dict | None, i: int) -> dict | None:
    """The body with its tick moved by `i`, so the answer cache cannot serve it."""
    if body is None:
        return None
    body = json.loads(json.dumps(body))
    target = body.get("state", body)
    if "tick" in target:
        target["tick"] = int(target["tick"]) + i
    if name == "knowledge":
        body["query"] = f"{body['query']} {i}"
    return body


@dataclass(frozen=True)
class Sample:
    route: str
    scheduled: float  # seconds since the load began
    status: int  # 0: no HTTP answer
    latency_s: float  # from the scheduled start (no coordinated omission)


def open_loop(
    base: str,
    plan: list[tuple[str, str, str, dict | None]],
    *,
    rate: float,
    seconds: float,
    connections: int = 16,
    timeout: float = 30.0,
    on_sample=None,  # type: ignore[no-untyped-def]
    key: str = KEY,
    vary: bool = True,
) -> list[Sample]:
    """`rate` requests per second for `seconds`, cycling through `plan` ((route name,
    method, path, body); bodies varied per request by `varied`), over `connections`
    keep-alive sessions; each request is timed from when it was due (so a stalled server
    is not hidden: no coordinated omission)."""
    interval = connections / rate
    samples: list[Sample] = []
    lock = threading.Lock()
    begin = time.perf_counter() + 0.2

    def worker(offset: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        n = 0
        while True:
            due = begin + offset * (interval / connections) + n * interval
            if due - begin > seconds:
                return
            if (delay := due - time.perf_counter()) > 0:
                time.sleep(delay)
            k = n * connections + offset
            name, method, path, body = plan[k % len(plan)]
            try:
                sent = varied(name, body, k % 997) if vary else body
                r = session.request(method, base + path, json=sent, timeout=timeout)
                status = r.status_code
            except requests.RequestException:
                status = 0
            sample = Sample(name, due - begin, status, time.perf_counter() - due)
            with lock:
                samples.append(sample)
            if on_sample is not None:
                on_sample(sample)
            n += 1

    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(worker, range(connections)))  # one connection each; re-raises
    return samples


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summarize(samples: list[Sample]) -> dict[str, dict]:
    """Per route: count, statuses, p50/p99/max latency in ms."""
    out: dict[str, dict] = {}
    for route in dict.fromkeys(s.route for s in samples):
        mine = [s for s in samples if s.route == route]
        lat = [s.latency_s * 1000 for s in mine]
        statuses: dict[int, int] = {}
        for s in mine:
            statuses[s.status] = statuses.get(s.status, 0) + 1
        out[route] = {
            "n": len(mine),
            "statuses": dict(sorted(statuses.items())),
            "p50_ms": round(percentile(lat, 50), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "max_ms": round(max(lat), 1),
        }
    return out
