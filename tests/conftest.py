"""Shared fixtures: a fresh PostgreSQL database per test session, RabbitMQ, apps.

Tests need the machine's real PostgreSQL and RabbitMQ. Where one is missing the tests
that need it are skipped, unless AGENT_REQUIRE_SERVICES=1 (as in CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from agent_service.app import create_app
from agent_service.config import Settings, load_settings

ADMIN_DSN = os.environ.get("AGENT_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("AGENT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
API_KEY = "test-key-0123456789"


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable: {exc}"
    if os.environ.get("AGENT_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (AGENT_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    return ADMIN_DSN


def create_database(admin_dsn: str) -> str:
    """A new empty database; returns its DSN."""
    name = f"agent_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return psycopg.conninfo.make_conninfo(admin_dsn, dbname=name)


def drop_database(admin_dsn: str, dsn: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """One database for the session, migrated by the first app built on it."""
    dsn = create_database(pg_admin_dsn)
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest.fixture
def fresh_pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """An empty database for one test."""
    dsn = create_database(pg_admin_dsn)
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest.fixture(scope="session")
def amqp_url() -> str:
    from tools.amqp import ping_amqp

    try:
        ping_amqp(AMQP_URL, timeout=3)
    except Exception as exc:
        _unavailable("RabbitMQ", exc)
    return AMQP_URL


def make_settings(tmp_path: Path, dsn: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": dsn,
        "api_keys": API_KEY,
        "log_level": "WARNING",
        "check_cache_s": 0,
    }
    values.update(overrides)
    return load_settings({}, **values)


@pytest.fixture
def settings(tmp_path: Path, pg_dsn: str) -> Settings:
    return make_settings(tmp_path, pg_dsn)


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    state = application.extensions["agent"]
    state.readiness.close()
    state.backends.close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}
