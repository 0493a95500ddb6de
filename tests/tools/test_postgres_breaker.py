"""The PostgreSQL breaker: an outage fails calls at once instead of after the pool
timeout, a probe brings the database back within a second or two of the server's
return, and errors of a healthy server never open it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.tcp_proxy import TcpProxy
from tools.errors import BackendUnavailable
from tools.postgres import Database


@pytest.fixture
def proxied(fresh_pg_dsn: str) -> Iterator[tuple[TcpProxy, Database]]:
    info = psycopg.conninfo.conninfo_to_dict(fresh_pg_dsn)
    proxy = TcpProxy((str(info.get("host", "127.0.0.1")), int(info.get("port", 5432))))
    proxy.start()
    dsn = psycopg.conninfo.make_conninfo(fresh_pg_dsn, host="127.0.0.1", port=proxy.port)
    database = Database(dsn, max_size=4, connect_timeout=2.0, probe_interval_s=0.25)
    yield proxy, database
    database.close()
    proxy.stop()


def _fails_within(database: Database) -> float:
    started = time.perf_counter()
    with pytest.raises(BackendUnavailable) as caught:
        database.ping(2.0)
    assert caught.value.backend == "postgres" and caught.value.retry_after >= 1
    return time.perf_counter() - started


def test_an_outage_fails_fast_and_the_return_is_noticed(proxied):
    proxy, database = proxied
    database.ping(2.0)
    assert database.available

    proxy.stop()
    _fails_within(database)  # the first call finds out (a cut connection: at once)
    assert not database.available
    after = sorted(_fails_within(database) for _ in range(20))
    assert after[-1] < 0.05, after  # then no call waits on the pool

    proxy.start()
    back = time.monotonic()
    while not database.available and time.monotonic() - back < 5:
        time.sleep(0.05)
    assert database.available, "the probe did not close the breaker within 5 s"
    database.ping(2.0)  # on a fresh pool
    with database.connection() as conn:
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)


def test_a_refused_server_opens_the_breaker_without_a_prior_connection(proxied):
    proxy, database = proxied
    proxy.stop()  # never connected: the pool cannot make its first connection
    first = _fails_within(database)
    assert first < 2.5
    deadline = time.monotonic() + 3
    while database.available and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not database.available
    assert _fails_within(database) < 0.05


def test_errors_of_a_healthy_server_do_not_open_it(proxied):
    _, database = proxied
    with (
        pytest.raises(BackendUnavailable, match="statement timeout"),
        database.connection() as conn,
    ):
        conn.execute("SET statement_timeout = 10")
        conn.execute("SELECT pg_sleep(1)")
    with pytest.raises(psycopg.errors.DivisionByZero), database.connection() as conn:
        conn.execute("SELECT 1 / 0")
    assert database.available
    database.ping(2.0)
