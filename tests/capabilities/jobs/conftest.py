"""Fixtures of the job tests: a migrated database and a work queue per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import create_database, drop_database
from tests.support.jobs import delete_queues, migrated, unique_queue
from tools.jobs_queue import QueueNames
from tools.postgres import Database


@pytest.fixture(scope="package")
def jobs_pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A database of the job tests alone: their executors take every queued job in the
    table, and jobs other tests left behind (training runs) would run in their pools."""
    dsn = migrated(create_database(pg_admin_dsn))
    yield dsn
    drop_database(pg_admin_dsn, dsn)


@pytest.fixture
def job_database(jobs_pg_dsn: str) -> Iterator[Database]:
    db = Database(jobs_pg_dsn, max_size=8)
    yield db
    db.close()


@pytest.fixture
def queue_names(amqp_url: str) -> Iterator[QueueNames]:
    """A work queue (and dead-letter queue) of this test only, deleted afterwards."""
    names = unique_queue()
    yield names
    delete_queues(amqp_url, names)
