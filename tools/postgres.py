"""PostgreSQL access: a lazily opened connection pool per process, behind a circuit
breaker.

The pool is created on first use, so a gunicorn master never holds connections that
its forked workers would share.

The breaker: a call that finds the server gone (a connection refused or cut, a pool
that cannot connect) opens it; while it is open every call fails at once with
BackendUnavailable instead of waiting out the pool timeout, and one background probe
connects directly every `probe_interval_s` until the server answers, then closes it on a
fresh pool. So an outage costs callers microseconds, not seconds, and the service is
back within a probe interval of the server's return. Errors of a healthy server (a
cancelled statement, a constraint) never open it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from tools.errors import BackendUnavailable

log = logging.getLogger(__name__)


class Database:
    """A connection pool that opens on first use and maps outages to BackendUnavailable."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        application_name: str = "agent-service",
        probe_interval_s: float = 1.0,
    ) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._application_name = application_name
        self._probe_interval_s = probe_interval_s
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._down_since: float | None = None  # monotonic time the breaker opened
        self._down_reason = ""
        self._probing = False
        self._closed = threading.Event()

    @property
    def dsn(self) -> str:
        return self._dsn

    @property
    def available(self) -> bool:
        """False while the breaker is open (the server was found gone and has not
        answered a probe since): callers with something to put off can wait for it."""
        return self._down_since is None

    @property
    def retry_after_s(self) -> int:
        """What to tell a caller to wait: about one probe interval."""
        return max(1, math.ceil(self._probe_interval_s))

    def _get_pool(self) -> ConnectionPool:
        with self._lock:
            if self._pool is None:
                pool = ConnectionPool(
                    self._dsn,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    open=False,
                    timeout=self._connect_timeout,
                    reconnect_timeout=0,
                    kwargs={
                        "connect_timeout": max(1, int(self._connect_timeout)),
                        "application_name": self._application_name,
                    },
                    name=self._application_name,
                )
                pool.open(wait=False)
                self._pool = pool
            return self._pool

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection]:
        """A pooled connection, committed on success and rolled back on error."""
        if self._down_since is not None:
            raise self._unavailable()
        pool = self._get_pool()
        try:
            with pool.connection(timeout=timeout) as conn:
                yield conn
        except PoolTimeout as exc:
            # the server may be gone, or every connection busy: the probe tells which
            self._probe_soon()
            raise BackendUnavailable(
                "postgres", _first_line(exc), retry_after=self.retry_after_s
            ) from exc
        except psycopg.OperationalError as exc:
            if _server_gone(exc):
                self._trip(_first_line(exc))
            raise BackendUnavailable(
                "postgres", _first_line(exc), retry_after=self.retry_after_s
            ) from exc

    def ping(self, timeout: float) -> None:
        """Run a trivial query; raises BackendUnavailable when the server does not answer."""
        with self.connection(timeout=timeout) as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    # -- the breaker
    def _unavailable(self) -> BackendUnavailable:
        since = time.monotonic() - (self._down_since or time.monotonic())
        return BackendUnavailable(
            "postgres",
            f"{self._down_reason} (down for {since:.1f} s; retrying every "
            f"{self._probe_interval_s:g} s)",
            retry_after=self.retry_after_s,
        )

    def _trip(self, reason: str) -> None:
        """Open the breaker, drop the pool (its connections are dead) and start probing."""
        with self._lock:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("postgres unavailable: failing fast", extra={"detail": reason})
            self._down_reason = reason
            pool, self._pool = self._pool, None
        if pool is not None:  # closing waits for its workers: not on the caller's thread
            threading.Thread(target=pool.close, kwargs={"timeout": 5}, daemon=True).start()
        self._probe_soon()

    def _probe_soon(self) -> None:
        with self._lock:
            if self._probing or self._closed.is_set():
                return
            self._probing = True
        threading.Thread(target=self._probe_loop, name="postgres-probe", daemon=True).start()

    def _probe_loop(self) -> None:
        try:
            while not self._closed.is_set():
                try:
                    with psycopg.connect(
                        self._dsn,
                        connect_timeout=max(1, int(self._connect_timeout)),
                        application_name=f"{self._application_name}-probe",
                    ) as conn:
                        conn.execute("SELECT 1")
                except psycopg.Error as exc:
                    self._trip(_first_line(exc))
                    self._closed.wait(self._probe_interval_s)
                    continue
                with self._lock:
                    if self._down_since is not None:
                        down = time.monotonic() - self._down_since
                        log.warning("postgres is back", extra={"down_s": round(down, 2)})
                    self._down_since = None
                return
        finally:
            with self._lock:
                self._probing = False


def _server_gone(exc: psycopg.OperationalError) -> bool:
    """A failure of the connection itself (refused, cut, server shutting down), not of a
    statement on a healthy one (57014 query cancelled, 55P03 lock timeout...)."""
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
