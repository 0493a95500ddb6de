"""Latency of `/health` and `/v1/hybrid/decide` while slow clients hold connections open.

Starts `agent-service serve` (embedded backends unless DATABASE_URL/QDRANT_URL are set;
the lifecycle of bench/http_load.py), then, for each server under test:

1. measures both routes with no slow client (the quiet figure);
2. opens N "slowloris" connections of each kind and keeps N of each open for the whole
   phase (reopening any the server drops): a request line and one header, then a header
   byte every few seconds and never the blank line; and a POST to `/v1/hybrid/decide`
   whose headers announce a body that trickles in one byte at a time and never ends;
3. measures both routes again over loopback (open loop: latency from each request's
   scheduled start, so a stalled server is not hidden) and counts how many slow
   connections the server dropped.

`--compare REF` first runs the server of a git ref (e.g. `main`, exported with `git
archive` to a temporary folder) and then this checkout's, in one run, so the two are
measured under the same machine load. The load average is printed with every figure.

    python bench/slow_clients.py --compare main --connections 64 --seconds 15
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_load import KEY, REPO, run_load, service

DECIDE = {
    "state": {"mode": "classic", "tick": 230, "price": 1.8,
              "recent_prices": [1.5, 1.6, 1.7, 1.75, 1.8]},
    "rl_action": "hold",
    "bot_id": "bench-slow",
}  # fmt: skip
TRICKLE_S = 2.0  # a slow client sends one more byte this often


def _headers_only(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    return sock


def _unfinished_body(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(
        b"POST /v1/hybrid/decide HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
    )
    return sock


class SlowClients:
    """Keeps `n` connections of each kind open, trickling bytes, until stopped."""

    KINDS = {"headers": (_headers_only, b"X"), "body": (_unfinished_body, b" ")}

    def __init__(self, base: str, n: int) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.n = n
        self.open: dict[str, list[socket.socket]] = {kind: [] for kind in self.KINDS}
        self.dropped = dict.fromkeys(self.KINDS, 0)
        self.failed_opens = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowClients:
        self._top_up()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for socks in self.open.values():
            for sock in socks:
                sock.close()

    def _top_up(self) -> None:
        for kind, (opener, _) in self.KINDS.items():
            while len(self.open[kind]) < self.n:
                try:
                    self.open[kind].append(opener(*self.address))
                except OSError:
                    self.failed_opens += 1
                    return

    def _run(self) -> None:
        while not self._stop.wait(TRICKLE_S):
            for kind, (_, byte) in self.KINDS.items():
                alive = []
                for sock in self.open[kind]:
                    try:
                        sock.sendall(byte)
                        sock.setblocking(False)
                        try:
                            closed = sock.recv(65536) is not None  # an answer, or b"" at EOF
                        except BlockingIOError:
                            closed = False
                        sock.setblocking(True)
                    except OSError:
                        closed = True
                    if closed:
                        self.dropped[kind] += 1
                        sock.close()
                    else:
                        alive.append(sock)
                self.open[kind] = alive
            self._top_up()


@contextmanager
def exported(ref: str) -> Iterator[Path]:
    """The tree of a git ref in a temporary folder (nothing in this checkout changes)."""
    with tempfile.TemporaryDirectory(prefix="agent-bench-ref-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


def _line(label: str, result: dict) -> str:
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"  {label:<30} {result['requests']:>5} req {result['errors']:>4} err  "
        f"p50 {result['p50_ms']:>8} ms  p95 {result['p95_ms']:>8} ms  "
        f"p99 {result['p99_ms']:>8} ms  max {result['max_ms']:>8} ms  load {load}"
    )


def measure(base: str, args: argparse.Namespace) -> dict[str, dict]:
    results = {}
    for path, method, body in (
        ("/health", "GET", None),
        ("/v1/hybrid/decide", "POST", DECIDE),
    ):
        results[path] = run_load(
            base, path, KEY, args.rate, args.seconds, args.client_connections, method, body, 10.0
        )
    return results


def bench_server(name: str, source: Path, args: argparse.Namespace) -> dict[str, dict]:
    print(f"{name} (code from {source})", flush=True)
    with service(None, args.workers, args.threads, source) as base:
        quiet = measure(base, args)
        for path, result in quiet.items():
            print(_line(f"{path} quiet", result), flush=True)
        with SlowClients(base, args.connections) as slow:
            time.sleep(1.0)  # let the server take them all
            held = measure(base, args)
            still_open = {kind: len(socks) for kind, socks in slow.open.items()}
        for path, result in held.items():
            print(_line(f"{path} {args.connections}+{args.connections} slow", result))
        print(
            f"  slow connections: {still_open} open at the end, dropped by the server "
            f"{slow.dropped} (reopened), failed to open {slow.failed_opens}",
            flush=True,
        )
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", metavar="REF", help="first run the server of this ref")
    parser.add_argument("--connections", type=int, default=64, help="slow ones of each kind")
    parser.add_argument("--rate", type=float, default=50.0, help="requests/s to each route")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--client-connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    print(
        f"{args.connections} slow connections of each kind; {args.rate:g} req/s per route "
        f"for {args.seconds:g} s over {args.client_connections} keep-alive connections; "
        f"floor: p99 <= 50 ms; cpus {os.cpu_count()}",
        flush=True,
    )
    summary = {}
    if args.compare:
        with exported(args.compare) as source:
            summary[args.compare] = bench_server(f"before: {args.compare}", source, args)
    summary["this checkout"] = bench_server("after: this checkout", REPO, args)
    print("p99 with slow clients held open (floor 50 ms):")
    for name, held in summary.items():
        figures = ", ".join(
            f"{path} {r['p99_ms']} ms ({r['errors']} err)" for path, r in held.items()
        )
        print(f"  {name:<14} {figures}")


if __name__ == "__main__":
    main()
