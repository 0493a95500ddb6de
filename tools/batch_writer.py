"""The database side of the consumer: message bodies -> one committed transaction.

`store_bodies` decodes a batch, hands the JSON messages to the batch handler (by default
`tools.ingest.ingest_batch`) in one transaction and returns the messages that must be
dead-lettered, with reasons. `BatchWriter` runs it on its own thread, batches in order,
so the broker thread receives the next batch while this one is being written: the
database's work overlaps the consumer's.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any, Generic, Protocol, TypeVar

import orjson
import psycopg

from tools.errors import InvalidInput

log = logging.getLogger("tools.consumer")

Token = TypeVar("Token")


class HandlerRefused(Exception):
    """The handler refused its arguments (e.g. the game mode): no message is at fault."""


class HasRejected(Protocol):
    rejected: list[tuple[int, str]]


class BatchHandler(Protocol):
    """Writes what a batch of messages implies, inside the caller's transaction."""

    def __call__(
        self, conn: psycopg.Connection, messages: Sequence[Any], *, source: str, mode: str
    ) -> HasRejected: ...


def default_handler(
    conn: psycopg.Connection, messages: Sequence[Any], *, source: str, mode: str
) -> HasRejected:
    """`tools.ingest.ingest_batch`, imported on first use."""
    from tools.ingest import ingest_batch

    return ingest_batch(conn, messages, source=source, mode=mode)


def decode_body(body: bytes) -> tuple[dict[str, Any] | list[Any] | None, str | None]:
    """The message as a JSON object (or a list: a trace preamble and its message), or the
    reason it is neither."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return None, f"body is not JSON: {exc}"
    if not isinstance(obj, dict | list):
        return None, f"body is a JSON {type(obj).__name__}, not an object"
    return obj, None


def store_bodies(
    db: psycopg.Connection,
    handler: BatchHandler,
    bodies: Sequence[bytes],
    *,
    source: str,
    mode: str,
) -> list[tuple[int, str]]:
    """Commit what the bodies imply; returns (index, reason) of those to dead-letter."""
    poison: list[tuple[int, str]] = []
    good: list[tuple[int, Any]] = []
    for index, body in enumerate(bodies):
        obj, reason = decode_body(body)
        if obj is None:
            poison.append((index, reason or "unreadable"))
        else:
            good.append((index, obj))
    if good:
        poison += _store(db, handler, good, source=source, mode=mode)
    return sorted(poison)


def _store(
    db: psycopg.Connection,
    handler: BatchHandler,
    items: list[tuple[int, Any]],
    *,
    source: str,
    mode: str,
) -> list[tuple[int, str]]:
    """One transaction for the items. When the handler fails on a batch, halves are
    retried to isolate the message at fault."""
    try:
        with db.transaction():
            result = handler(db, [obj for _, obj in items], source=source, mode=mode)
        return [(items[i][0], reason) for i, reason in result.rejected]
    except InvalidInput as exc:
        raise HandlerRefused(str(exc)) from exc
    except Exception as exc:
        if not _is_poison_error(exc) or db.broken:
            raise
        if len(items) == 1:
            log.warning("message failed the handler", extra={"error": describe(exc)})
            return [(items[0][0], f"handler failed: {describe(exc)}")]
        middle = len(items) // 2
        return _store(db, handler, items[:middle], source=source, mode=mode) + _store(
            db, handler, items[middle:], source=source, mode=mode
        )


def _is_poison_error(exc: Exception) -> bool:
    """A failure one message's data can cause, as opposed to the database being down
    (reconnect) or a bug in the handler (NameError, AttributeError, ...), which would
    otherwise dead-letter the whole stream: those stop the consumer."""
    if isinstance(exc, psycopg.Error):
        return isinstance(exc, psycopg.DataError | psycopg.IntegrityError)
    return isinstance(exc, ValueError | ArithmeticError)


class BatchWriter(Generic[Token]):
    """`store_bodies` on a thread of its own, one batch at a time, results in order.

    The owner (the broker thread) submits `(token, bodies)` and collects
    `(token, poison)`; an exception raised while writing is re-raised by `result()`.
    The writer owns the connection from `submit` to `close`."""

    def __init__(self, db: psycopg.Connection, handler: BatchHandler, *, source: str, mode: str):
        self._db = db
        self._handler = handler
        self._source = source
        self._mode = mode
        self._jobs: queue.SimpleQueue[tuple[Token, Sequence[bytes]] | None] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[tuple[Token, list[tuple[int, str]]] | BaseException] = (
            queue.SimpleQueue()
        )
        self.pending = 0
        self._thread = threading.Thread(target=self._run, name="consumer-writer", daemon=True)
        self._thread.start()

    def submit(self, token: Token, bodies: Sequence[bytes]) -> None:
        self.pending += 1
        self._jobs.put((token, bodies))

    def result(self, timeout: float | None) -> tuple[Token, list[tuple[int, str]]] | None:
        """The next finished batch (waiting up to `timeout`; 0: do not wait), or None."""
        if not self.pending:
            return None
        try:
            item = self._results.get(timeout=timeout) if timeout else self._results.get_nowait()
        except queue.Empty:
            return None
        self.pending -= 1
        if isinstance(item, BaseException):
            self.pending = 0
            raise item
        return item

    def close(self) -> None:
        """Let the batch being written finish, then stop the thread; unclaimed results
        are dropped (their messages were not acknowledged, so they come back)."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            token, bodies = job
            try:
                poison = store_bodies(
                    self._db, self._handler, bodies, source=self._source, mode=self._mode
                )
            except BaseException as exc:
                self._results.put(exc)
                return
            self._results.put((token, poison))


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
