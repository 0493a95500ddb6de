"""PostgreSQL access: a lazily opened connection pool per process.

The pool is created on first use, so a gunicorn master never holds connections that
its forked workers would share.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from tools.errors import BackendUnavailable


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
    ) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._application_name = application_name
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    @property
    def dsn(self) -> str:
        return self._dsn

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
        pool = self._get_pool()
        try:
            with pool.connection(timeout=timeout) as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise BackendUnavailable("postgres", _first_line(exc)) from exc

    def ping(self, timeout: float) -> None:
        """Run a trivial query; raises BackendUnavailable when the server does not answer."""
        with self.connection(timeout=timeout) as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
