"""What a running job's handler may use of the process running it: the service database.

Handlers are plain `fn(payload, progress)` functions imported by every job-running
process; the runner binds the database of its job store around each call, so a handler
reads stored rounds from the same database as the service that accepted the job, in a
worker process or in the web process's threads alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tools.postgres import Database

_database: ContextVar[Database | None] = ContextVar("job_database", default=None)


def job_database() -> Database:
    """The database of the job running in this thread."""
    database = _database.get()
    if database is None:
        raise RuntimeError("job_database() is only available inside a running job")
    return database


@contextmanager
def bound_database(database: Database) -> Iterator[None]:
    token = _database.set(database)
    try:
        yield
    finally:
        _database.reset(token)
