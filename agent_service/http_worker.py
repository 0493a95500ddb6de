"""The gunicorn worker: gthread, with each request read whole by the main loop first.

gunicorn's gthread worker hands a connection to a pool thread as soon as its first
bytes arrive, and the thread then blocks reading the rest of the request: eight clients
that send half a request line (or headers announcing a body they never send) hold all
eight threads, and every other request waits (issue 12, item 1). Here the worker's
event loop reads each request without blocking, headers and body, into memory; a pool
thread only ever gets a request that is complete, which it parses from memory and never
from the socket. A client that stalls costs a buffer and a file descriptor, not a
thread, and is dropped when the header or body deadline passes (408). A body larger
than the limit is refused with 413 before it is read. Everything else (keep-alive,
graceful stop, systemd notification through the arbiter, streamed responses written by
the pool thread) is gthread's own.

The framing (where a request ends: Content-Length or chunked) is decided by h11; the
request itself is still parsed by gunicorn, whose error pages (400, 414, 431) this
worker writes as problem+json, like every other error of the service.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import h11
from gunicorn import util
from gunicorn.http.message import Request
from gunicorn.http.unreader import Unreader
from gunicorn.workers.gthread import ThreadWorker

from agent_service.problems import problem_document

_RECV_BYTES = 65536


@dataclass(frozen=True)
class ReadLimits:
    """How long a client may take to send its headers, then its body, and how large the
    body may be. Set by `agent-service serve` from AGENT_HEADER_TIMEOUT_S,
    AGENT_BODY_TIMEOUT_S and AGENT_MAX_BODY_BYTES."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_body_bytes: int = 1024 * 1024


def raw_problem(status: int, reason: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response that closes the connection."""
    slug = reason.lower().replace(" ", "-")
    body = json.dumps(problem_document(status, reason, detail, slug)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _write_problem_page(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error pages (a malformed request line, a URI or headers too
    large), as problem+json instead of HTML."""
    util.write_nonblock(sock, raw_problem(status_int, reason, mesg or reason))


class _InMemory(Unreader):
    """A request already read: the parser takes it from here, never from the socket.
    What follows it (a pipelined request) stays buffered for the next read stage."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.buf.write(data)

    def chunk(self, size_hint: int | None = None) -> bytes:
        return b""


class _ReadRequest(Request):  # type: ignore[misc]
    # the read stage has already answered `Expect: 100-continue` (it needed the body)
    _policy_expect_continue = False


@dataclass
class _Reading:
    """A connection whose request is being read by the event loop."""

    conn: Any
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    framing: h11.Connection | None = None
    body_bytes: int = 0


class BufferedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread whose pool threads only ever see complete requests (module docstring)."""

    def init_process(self) -> None:
        self.limits: ReadLimits = getattr(self.app, "read_limits", None) or ReadLimits()
        self.reading: dict[Any, _Reading] = {}
        # the largest header block gunicorn accepts, so its own limits (414, 431) decide
        self.max_header_bytes = self.cfg.limit_request_line + self.cfg.limit_request_fields * (
            self.cfg.limit_request_field_size + 2
        )
        util.write_error = _write_problem_page  # this worker process's error pages
        self._notified = -1.0
        super().init_process()

    def notify(self) -> None:
        """The arbiter's heartbeat (a file's mtime, one syscall) at most twice a second:
        gthread sends it on every turn of its loop, several times per request."""
        now = time.monotonic()
        if now - self._notified >= 0.5:
            self._notified = now
            super().notify()

    # -- entering and leaving the read stage
    def enqueue_req(self, conn: Any) -> None:
        request = getattr(conn, "buffered_request", None)
        if request is not None:
            super().enqueue_req(conn)
            return
        # a new connection, a kept-alive one that became readable, or one with a
        # pipelined request already buffered behind the last one: gthread's
        # finish_request sends that one straight here (bytes already read into the
        # parser never make the socket readable to the poller), and they are framed
        # from memory below before the socket is read again
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        state = _Reading(conn, time.monotonic() + self.limits.header_timeout_s)
        conn.sock.setblocking(False)
        self.reading[conn.sock] = state
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, state))
        if leftover:
            self._received(state, leftover)

    def handle(self, conn: Any) -> Any:
        """Runs in a pool thread: parse the buffered request, then serve it as gthread."""
        request = conn.buffered_request
        conn.buffered_request = None
        conn.init()
        conn.parser.unreader = _InMemory(request)
        conn.parser.mesg_class = _ReadRequest
        return super().handle(conn)

    def _complete(self, state: _Reading) -> None:
        self._leave(state)
        state.conn.buffered_request = bytes(state.data)
        state.conn.data_ready = True  # gthread must not wait for more data
        self.enqueue_req(state.conn)

    def _leave(self, state: _Reading) -> None:
        self.reading.pop(state.conn.sock, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(state.conn.sock)

    def _drop(self, state: _Reading, answer: bytes | None = None) -> None:
        self._leave(state)
        if answer is not None:
            with contextlib.suppress(OSError):  # small: what does not fit is lost with the peer
                state.conn.sock.send(answer)
        self.nr_conns -= 1
        state.conn.close()

    # -- reading
    def _readable(self, state: _Reading, _fileobj: Any) -> None:
        try:
            chunk = state.conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away before finishing its request
            self._drop(state)
            return
        self._received(state, chunk)

    def _received(self, state: _Reading, chunk: bytes) -> None:
        state.data += chunk
        if state.framing is None:
            state.framing = h11.Connection(
                h11.SERVER, max_incomplete_event_size=self.max_header_bytes
            )
        framing = state.framing
        framing.receive_data(chunk)
        while True:
            try:
                event = framing.next_event()
            except h11.RemoteProtocolError:
                # malformed: gunicorn's parser, reading from memory, says what is wrong
                self._complete(state)
                return
            if event is h11.NEED_DATA:
                return
            if isinstance(event, h11.Request):
                if not self._headers_read(state, event):
                    return
            elif isinstance(event, h11.Data):
                state.body_bytes += len(event.data)
                if state.body_bytes > self.limits.max_body_bytes:
                    self._too_large(state)
                    return
            else:  # EndOfMessage (or PAUSED after it): the request is whole
                self._complete(state)
                return

    def _headers_read(self, state: _Reading, event: h11.Request) -> bool:
        """Check the announced body against the limit, answer 100-continue and start the
        body's deadline; False when the connection was answered and dropped."""
        headers = dict(event.headers)
        length = headers.get(b"content-length")
        if length is not None and int(length) > self.limits.max_body_bytes:
            self._too_large(state)
            return False
        if headers.get(b"expect", b"").lower() == b"100-continue" and event.http_version == b"1.1":
            with contextlib.suppress(OSError):
                state.conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        state.deadline = time.monotonic() + self.limits.body_timeout_s
        return True

    def _too_large(self, state: _Reading) -> None:
        limit = self.limits.max_body_bytes
        detail = f"the request body exceeds the limit of {limit} bytes"
        self._drop(state, raw_problem(413, "Content Too Large", detail))

    # -- deadlines, checked by gthread's loop about once a second
    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for state in list(self.reading.values()):
            if not state.data and (now >= state.deadline or not self.alive):
                self._drop(state)  # idle: nothing to answer
            elif now >= state.deadline:
                part = (
                    "body"
                    if state.framing and state.framing.their_state is h11.SEND_BODY
                    else "headers"
                )
                timeout = (
                    self.limits.body_timeout_s if part == "body" else self.limits.header_timeout_s
                )
                detail = f"the request's {part} did not arrive within {timeout:g} s"
                self._drop(state, raw_problem(408, "Request Timeout", detail))
