"""Sends the decisions the bot takes on its own to the service's decision log.

The hybrid logs every decision it answers; the moments the bot did not ask about, or
asked and got no answer in time (a fallback), would be missing. `DecisionRecorder`
buffers them and posts batches to `POST /v1/hybrid/decisions` from a background thread,
so `record()` never waits on the network; when the service is down the buffer keeps the
latest `max_buffer` decisions and retries. Needs only `requests` (through AgentClient).

    recorder = DecisionRecorder(client, bot_id="ppo-v3", mode="classic")
    recorder.record(tick=230, price=1.9, rl_action=1, action=1, source="fallback")
    recorder.close()  # flushes what is left (within `close_timeout_s`)
"""

from __future__ import annotations

import collections
import logging
import threading
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("agent_service.client.recorder")
PATH = "/v1/hybrid/decisions"
MAX_BATCH = 1000  # the endpoint's limit


class DecisionRecorder:
    def __init__(
        self,
        client: Any,
        *,
        bot_id: str,
        mode: str = "classic",
        flush_interval_s: float = 1.0,
        max_buffer: int = 50_000,
        close_timeout_s: float = 5.0,
    ) -> None:
        self.client, self.bot_id, self.mode = client, bot_id, mode
        self.flush_interval_s = flush_interval_s
        self.close_timeout_s = close_timeout_s
        self.sent = 0
        self.dropped = 0
        self._buffer: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_buffer)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="decision-recorder", daemon=True)
        self._thread.start()

    def record(
        self,
        *,
        tick: int,
        price: float,
        rl_action: int | str,
        action: int | str,
        source: str = "rl",
        game_id: str | None = None,
        stake: float | None = None,
        reason: str = "",
        latency_ms: float = 0.0,
        mode: str | None = None,
    ) -> None:
        """Queue one decision; never blocks on I/O."""
        item: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(),
            "mode": mode or self.mode,
            "tick": int(tick),
            "price": float(price),
            "rl_action": _plain(rl_action),
            "action": _plain(action),
            "source": source,
            "reason": reason[:500],
            "latency_ms": round(float(latency_ms), 3),
        }
        if game_id is not None:
            item["game_id"] = game_id
        if stake is not None:
            item["stake"] = float(stake)
        with self._lock:
            if len(self._buffer) == self._buffer.maxlen:
                self.dropped += 1
            self._buffer.append(item)
            if len(self._buffer) >= MAX_BATCH:
                self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Send what is buffered now; returns how many the service accepted."""
        sent = 0
        while True:
            with self._lock:
                batch = [self._buffer.popleft() for _ in range(min(MAX_BATCH, len(self._buffer)))]
            if not batch:
                return sent
            try:
                self.client.post(PATH, {"bot_id": self.bot_id, "decisions": batch})
            except Exception as exc:  # the service is optional: keep them for the next try
                with self._lock:
                    room = (self._buffer.maxlen or 0) - len(self._buffer)
                    self._buffer.extendleft(reversed(batch[-room:] if room else []))
                    self.dropped += max(0, len(batch) - room)
                log.warning("decision recorder: not sent, will retry: %s", exc)
                return sent
            sent += len(batch)
            self.sent += len(batch)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(self.close_timeout_s)

    def __enter__(self) -> DecisionRecorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            self.flush()
        self.flush()


def _plain(action: Any) -> int | str:
    """numpy integers (what SB3 returns) as int; names as they are."""
    return action if isinstance(action, str) else int(action)
