"""The intervention log: every hybrid decision, stored and published off the request path.

`record()` only appends to an in-memory queue (no I/O on the real-time path); a
background thread writes the queue to PostgreSQL in batches (COPY) and publishes each
decision on `agent.events` as `decision.override` or `decision.pass`. When the database
is away the batch is kept and retried; past `max_queue` pending records the oldest are
dropped and counted, so a long outage cannot exhaust memory or slow decisions.
"""

from __future__ import annotations

import collections
import logging
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from prometheus_client import Counter

from tools.errors import BackendUnavailable
from tools.postgres import Database
from tools.publisher import EventPublisher

log = logging.getLogger(__name__)

DECISIONS_LOGGED = Counter(
    "agent_hybrid_decisions_logged_total", "Hybrid decisions written to the log", ["source"]
)
DECISIONS_DROPPED = Counter(
    "agent_hybrid_decisions_dropped_total", "Hybrid decisions dropped: the log queue was full"
)

_COLUMNS = (
    "time", "decision_id", "bot_id", "mode", "game_id", "tick", "price", "stake", "input_hash",
    "rl_action", "action", "source", "critical", "reason", "confidence", "expected_loss",
    "latency_ms", "model_version",
)  # fmt: skip


@dataclass(frozen=True)
class DecisionRecord:
    time: datetime
    decision_id: uuid.UUID
    bot_id: str
    mode: str
    game_id: str | None
    tick: int
    price: float
    stake: float
    input_hash: str
    rl_action: str
    action: str
    source: str
    critical: bool
    reason: str
    confidence: float
    expected_loss: float
    latency_ms: float
    model_version: str

    def event(self) -> dict[str, object]:
        body = asdict(self)
        body["time"] = self.time.isoformat()
        body["decision_id"] = str(self.decision_id)
        return body


class DecisionLog:
    def __init__(
        self,
        database: Database,
        publisher: EventPublisher | None = None,
        *,
        flush_interval_s: float = 0.2,
        max_batch: int = 2000,
        max_queue: int = 100_000,
    ) -> None:
        self._db = database
        self._publisher = publisher
        self._interval = flush_interval_s
        self._max_batch = max_batch
        self._queue: collections.deque[DecisionRecord] = collections.deque()
        self._max_queue = max_queue
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, item: DecisionRecord) -> None:
        """Queue a decision; never blocks on I/O."""
        with self._lock:
            if len(self._queue) >= self._max_queue:
                self._queue.popleft()
                DECISIONS_DROPPED.inc()
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
                self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Write (and publish) what is queued now; returns the number written."""
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
        if not batch:
            return 0
        try:
            self._write(batch)
        except BackendUnavailable as exc:
            with self._lock:  # keep them for the next attempt, oldest first
                self._queue.extendleft(reversed(batch))
            log.warning("decision log write failed; will retry", extra={"error": exc.detail})
            return 0
        for item in batch:
            DECISIONS_LOGGED.labels(source=item.source).inc()
        self._publish(batch)
        return len(batch)

    def _write(self, batch: list[DecisionRecord]) -> None:
        sql = f"COPY hybrid_decisions ({', '.join(_COLUMNS)}) FROM STDIN"
        with self._db.connection() as conn, conn.cursor() as cur, cur.copy(sql) as copy:
            for item in batch:
                copy.write_row(tuple(getattr(item, c) for c in _COLUMNS))

    def _publish(self, batch: list[DecisionRecord]) -> None:
        if self._publisher is None:
            return
        for item in batch:
            key = "decision.override" if item.source == "agent" else "decision.pass"
            try:
                self._publisher.publish(key, item.event())
            except (
                BackendUnavailable
            ) as exc:  # the stored row is the record; events are best effort
                log.warning("decision event not published", extra={"error": exc.detail})
                return

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if not self._db.available:  # the breaker is open: keep queueing, try no write
                continue
            while self.flush() >= self._max_batch:
                pass

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread after writing what is queued."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        while self.pending and self.flush():
            pass
