"""The HTTP worker under `agent-service serve`: slow clients hold no thread, they are
dropped with 408 at their deadline, over-limit bodies get 413 before they are read, and
the server's own error pages are problem+json."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import API_KEY
from tests.support.process import cli_env, start_cli, wait_http
from tests.support.tcp_proxy import free_port

THREADS = 2
HELD = 3 * THREADS  # more slow clients of each kind than the worker has threads


@pytest.fixture(scope="module")
def server(tmp_path_factory, pg_admin_dsn) -> Iterator[tuple[str, int]]:
    from tests.conftest import create_database, drop_database

    dsn = create_database(pg_admin_dsn)
    tmp = tmp_path_factory.mktemp("worker")
    port = free_port()
    env = cli_env(
        DATABASE_URL=dsn,
        AGENT_API_KEYS=API_KEY,
        AGENT_PORT=str(port),
        AGENT_THREADS=str(THREADS),
        AGENT_HEADER_TIMEOUT_S="2",
        AGENT_BODY_TIMEOUT_S="2",
        AGENT_MAX_BODY_BYTES="4096",
        AGENT_KNOWLEDGE_SEED_ON_START="false",
        AGENT_LOG_LEVEL="WARNING",
    )
    proc = start_cli("serve", env=env, cwd=tmp, log=tmp / "serve.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/health", within=90, proc=proc)
        yield ("127.0.0.1", port)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        drop_database(pg_admin_dsn, dsn)
    assert code == 0, (tmp / "serve.log").read_text()


def _send(address: tuple[str, int], data: bytes) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.sendall(data)
    return sock


class _Reader:
    """Responses read one at a time from a socket. One recv can return the end of one
    response and the start of the next (pipelined answers written back to back, as
    happens when the client is slower than the server): what lies past the end of a
    response is kept for the next one, never dropped."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, f"connection closed after {self.buffer!r}"
        self.buffer += chunk

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next whole response (status, headers, body)."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = int(headers.get("content-length", 0))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split()[1]), headers, body


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The first whole response on the socket."""
    return _Reader(sock).response()


def _problem(sock: socket.socket, status: int) -> dict:
    got, headers, body = _response(sock)
    assert got == status, body
    assert headers["content-type"] == "application/problem+json"
    document = json.loads(body)
    assert document["status"] == status and document["type"].startswith("urn:vectra-agent:")
    return document


def _partial_headers(address):
    return _send(address, b"GET /health HTTP/1.1\r\nHost: x\r\n")


def _unfinished_body(address):
    return _send(
        address,
        b"POST /v1/hybrid/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + API_KEY.encode() + b"\r\nContent-Length: 900\r\n\r\n{",
    )


def test_held_connections_do_not_block_other_requests(server):
    base = f"http://{server[0]}:{server[1]}"
    held = [_partial_headers(server) for _ in range(HELD)]
    held += [_unfinished_body(server) for _ in range(HELD)]
    try:
        for _ in range(3):
            assert requests.get(base + "/health", timeout=5).json()["status"] == "ok"
        decided = requests.post(
            base + "/v1/hybrid/decide",
            json={"state": {"tick": 10, "price": 1.2}, "rl_action": "hold", "bot_id": "t"},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=5,
        )
        assert decided.status_code == 200, decided.text
    finally:
        for sock in held:
            sock.close()


def test_a_slow_client_is_answered_408_at_its_deadline(server):
    headers = _problem(_partial_headers(server), 408)
    assert "headers" in headers["detail"]
    body = _problem(_unfinished_body(server), 408)
    assert "body" in body["detail"]


def test_an_over_limit_body_is_413_before_it_is_read(server):
    announced = _send(
        server,
        b"POST /v1/hybrid/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5000\r\n\r\n{",
    )
    assert "4096 bytes" in _problem(announced, 413)["detail"]
    chunk = b"400\r\n" + b" " * 0x400 + b"\r\n"
    chunked = _send(
        server,
        b"POST /v1/hybrid/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 5,
    )
    _problem(chunked, 413)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", 431),
    ],
)
def test_the_servers_own_error_pages_are_problem_json(server, request_bytes, status):
    _problem(_send(server, request_bytes), status)


def test_a_script_name_header_is_ignored(server):
    sock = _send(server, b"GET /health HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /elsewhere\r\n\r\n")
    assert _response(sock)[0] == 200


def _decide_request() -> bytes:
    body = json.dumps({"state": {"tick": 10, "price": 1.2}, "rl_action": "hold", "bot_id": "t"})
    return (
        b"POST /v1/hybrid/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + API_KEY.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body.encode()
    )


HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


def test_pipelined_requests_are_each_answered(server):
    """Three requests in one write, a body in the middle: each answered, in order. The
    answers often arrive in one recv (the reader keeps what follows each answer)."""
    reader = _Reader(_send(server, HEALTH + _decide_request() + HEALTH))
    answers = [reader.response() for _ in range(3)]
    assert [status for status, _, _ in answers] == [200, 200, 200], answers
    assert json.loads(answers[0][2])["status"] == "ok"
    assert "action" in json.loads(answers[1][2]), answers[1]


def test_a_pipelined_request_cut_short_is_finished_from_the_socket(server):
    """The bytes behind the first request are half of the second: the rest, sent later,
    is read from the socket (the buffered half is neither lost nor waited on forever)."""
    decide = _decide_request()
    sock = _send(server, HEALTH + decide[:40])
    reader = _Reader(sock)
    assert reader.response()[0] == 200
    time.sleep(0.2)
    sock.sendall(decide[40:] + HEALTH)
    assert [reader.response()[0] for _ in range(2)] == [200, 200]
