"""Fixtures of the job tests: a migrated database and a work queue per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.jobs import delete_queues, migrated, unique_queue
from tools.jobs_queue import QueueNames
from tools.postgres import Database


@pytest.fixture
def job_database(pg_dsn: str) -> Iterator[Database]:
    db = Database(migrated(pg_dsn), max_size=8)
    yield db
    db.close()


@pytest.fixture
def queue_names(amqp_url: str) -> Iterator[QueueNames]:
    """A work queue (and dead-letter queue) of this test only, deleted afterwards."""
    names = unique_queue()
    yield names
    delete_queues(amqp_url, names)
