"""What a running job's handler may use of the process running it: the service database,
the capability runtime and (when the process has one) the knowledge base.

Handlers are plain `fn(payload, progress)` functions imported by every job-running
process; the runner binds the database of its job store around each call, so a handler
reads stored rounds from the same database as the service that accepted the job, in a
worker process or in the web process's threads alike. The process that runs jobs
registers how to build its runtime (`set_runtime_factory`), from its own settings, and
its knowledge base (`set_knowledge_factory`) when it may open one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from capabilities.engines.runtime import Runtime
from tools.knowledge import KnowledgeBase
from tools.postgres import Database
from tools.publisher import EventPublisher

_database: ContextVar[Database | None] = ContextVar("job_database", default=None)
_job_id: ContextVar[uuid.UUID | None] = ContextVar("job_id", default=None)
_runtime_factory: Callable[[Database], Runtime] | None = None
_runtimes: dict[int, Runtime] = {}
_tools: dict[int, list[Any]] = {}
_knowledge_factory: Callable[[], KnowledgeBase] | None = None
_knowledge: KnowledgeBase | None = None
_lock = threading.Lock()


def job_database() -> Database:
    """The database of the job running in this thread."""
    database = _database.get()
    if database is None:
        raise RuntimeError("job_database() is only available inside a running job")
    return database


def current_job_id() -> uuid.UUID:
    """The id of the job running in this thread (a handler that keeps rows of its own,
    such as a training run, keys them by it)."""
    job_id = _job_id.get()
    if job_id is None:
        raise RuntimeError("current_job_id() is only available inside a running job")
    return job_id


@contextmanager
def bound_database(database: Database, job_id: uuid.UUID | None = None) -> Iterator[None]:
    token, job_token = _database.set(database), _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(job_token)
        _database.reset(token)


def set_runtime_factory(factory: Callable[[Database], Runtime]) -> None:
    """How this process builds a capability runtime over a database (from its settings)."""
    global _runtime_factory
    with _lock:
        _runtime_factory = factory
        _runtimes.clear()


def job_runtime() -> Runtime:
    """The capability runtime for the running job's database (one per database)."""
    database = job_database()
    with _lock:
        if _runtime_factory is None:
            raise RuntimeError("this process registered no runtime for jobs")
        runtime = _runtimes.get(id(database))
        if runtime is None:
            runtime = _runtimes[id(database)] = _runtime_factory(database)
        return runtime


def job_tools() -> list[Any]:
    """The evidence tools (named analytics queries over the job's database, knowledge
    search when the process has a knowledge base) for a job's agent; none without a
    model configured (smolagents is not loaded then). Built once per database."""
    database = job_database()
    if not job_runtime().models:
        return []
    with _lock:
        tools = _tools.get(id(database))
    if tools is None:
        from tools.agent_tools import build_tools
        from tools.errors import BackendUnavailable

        try:
            knowledge = job_knowledge()
        except BackendUnavailable:
            knowledge = None
        built = build_tools(database=database, knowledge=knowledge, publisher=None)
        tools = [t for t in built if t.name != "query_database"]
        with _lock:
            _tools[id(database)] = tools
    return tools


def set_knowledge_factory(factory: Callable[[], KnowledgeBase]) -> None:
    """How this process opens its knowledge base (called on first use)."""
    global _knowledge_factory, _knowledge
    with _lock:
        _knowledge_factory, _knowledge = factory, None


def job_knowledge() -> KnowledgeBase | None:
    """The process's knowledge base, or None when it registered none. May raise
    BackendUnavailable when Qdrant cannot be opened (retried on the next call)."""
    global _knowledge
    with _lock:
        factory = _knowledge_factory
        if factory is None or _knowledge is not None:
            return _knowledge
    knowledge = factory()  # outside the lock: opening Qdrant may take a while
    with _lock:
        if _knowledge_factory is factory:
            _knowledge = knowledge
    return knowledge


Submit = Callable[[str, dict[str, Any]], uuid.UUID]
_submitters: dict[int, Submit] = {}
_submitter_factory: Callable[[Database], Submit] | None = None
_events: EventPublisher | None = None


def set_submitter_factory(factory: Callable[[Database], Submit] | None) -> None:
    """How this process submits jobs from inside a running one (a tournament's chunks)."""
    global _submitter_factory
    with _lock:
        _submitter_factory = factory
        _submitters.clear()


def job_submitter() -> Submit | None:
    """Submits a job to the running job's database and queue; None when this process
    registered no way (the job then does all of its work itself)."""
    database = job_database()
    with _lock:
        if _submitter_factory is None:
            return None
        submit = _submitters.get(id(database))
        if submit is None:
            submit = _submitters[id(database)] = _submitter_factory(database)
        return submit


def set_job_events(publisher: EventPublisher | None) -> None:
    """The publisher of the service's events (`agent.events`) for jobs of this process."""
    global _events
    with _lock:
        _events = publisher


def job_events() -> EventPublisher | None:
    with _lock:
        return _events
