"""A client for the bot: call the service without ever letting it stall a decision.

Importable with only `requests` installed (nothing of the server side). One keep-alive
session; every call has a timeout (50 ms for `decide` by default); `decide` falls back
to the RL action on a timeout, an error or an open circuit, and says so. The circuit
breaker opens after `failures_to_open` consecutive failures and lets one trial call
through after `open_seconds`, so a service that is down costs the bot nothing but the
first timeouts.

    client = AgentClient("http://127.0.0.1:8000", api_key=KEY)
    d = client.decide(state={"tick": 210, "price": 1.7}, rl_action=1, bot_id="ppo-v3")
    act(d.action)  # d.source is "rl" (kept or fallback) or "agent" (override)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = [
    "AgentClient",
    "AgentError",
    "CircuitBreaker",
    "ClientDecision",
    "CurriculumCallback",
    "DecisionRecorder",
    "HybridPolicy",
]


class AgentError(Exception):
    """A call that failed: unreachable, too slow, an open circuit, or an error answer."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass
class CircuitBreaker:
    failures_to_open: int = 5
    open_seconds: float = 5.0
    _failures: int = 0
    _opened_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self.open_seconds:
                self._opened_at = time.monotonic()  # half-open: one trial, then wait again
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at = 0, None

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.failures_to_open:
                self._opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


@dataclass(frozen=True)
class ClientDecision:
    action: str | int
    source: str  # agent | rl | fallback
    critical: bool
    reason: str
    confidence: float | None
    latency_ms: float
    raw: dict[str, Any] | None = None


class AgentClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        decide_timeout_s: float = 0.05,
        timeout_s: float = 30.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.decide_timeout_s = decide_timeout_s
        self.timeout_s = timeout_s
        self.breaker = breaker or CircuitBreaker()
        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, timeout: float, body: Any = None) -> dict[str, Any]:
        if not self.breaker.allow():
            raise AgentError("circuit open: the service failed repeatedly; not calling it")
        try:
            response = self._session.request(
                method, self.base_url + path, json=body, timeout=timeout
            )
        except requests.RequestException as exc:
            self.breaker.failure()
            raise AgentError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            self.breaker.failure()
        else:
            self.breaker.success()
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        if response.status_code >= 400:
            detail = payload.get("detail") if isinstance(payload, dict) else payload
            raise AgentError(
                f"{method} {path}: {response.status_code}: {detail}", response.status_code, payload
            )
        return payload

    def decide(
        self,
        *,
        state: dict[str, Any],
        rl_action: str | int,
        bot_id: str,
        action_probabilities: list[float] | None = None,
        timeout_s: float | None = None,
        **extra: Any,
    ) -> ClientDecision:
        """The hybrid decision, or the RL action itself when the service cannot answer
        within `timeout_s` (default `decide_timeout_s`). `extra` adds fields of the
        request (`stake`, `player_id`, `recent_trades`, ...)."""
        started = time.perf_counter()
        body: dict[str, Any] = {"state": state, "rl_action": rl_action, "bot_id": bot_id, **extra}
        if action_probabilities is not None:
            body["action_probabilities"] = action_probabilities
        timeout = self.decide_timeout_s if timeout_s is None else timeout_s
        try:
            answer = self._call("POST", "/v1/hybrid/decide", timeout, body)
        except AgentError as exc:
            return ClientDecision(
                action=rl_action,
                source="fallback",
                critical=False,
                reason=str(exc),
                confidence=None,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        action = answer.get("action", rl_action)
        if isinstance(rl_action, int) and isinstance(action, str):
            action = {"hold": 0, "sidebet": 1}.get(action, rl_action)
        return ClientDecision(
            action=action,
            source=answer.get("source", "rl"),
            critical=bool(answer.get("critical")),
            reason=str(answer.get("reason", "")),
            confidence=answer.get("confidence"),
            latency_ms=(time.perf_counter() - started) * 1000,
            raw=answer,
        )

    def get(self, path: str) -> dict[str, Any]:
        """GET any endpoint (`/v1/opponents/...`, `/v1/jobs/...`); raises AgentError."""
        return self._call("GET", path, self.timeout_s)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST any endpoint (`/v1/coach/strategy`, `/v1/chat`, ...); raises AgentError."""
        return self._call("POST", path, self.timeout_s, body)

    def coach(self, state: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return self.post("/v1/coach/strategy", {**state, **extra})

    def wait_for_job(
        self, job_id: str, *, poll_s: float = 0.5, within_s: float = 300
    ) -> dict[str, Any]:
        """Poll `/v1/jobs/{id}` until it succeeds or fails (raises AgentError on timeout)."""
        deadline = time.monotonic() + within_s
        while True:
            job = self.get(f"/v1/jobs/{job_id}")
            if job.get("state") in {"succeeded", "failed", "cancelled"}:
                return job
            if time.monotonic() > deadline:
                raise AgentError(f"job {job_id} still {job.get('state')} after {within_s} s")
            time.sleep(poll_s)


_KIT = {
    "CurriculumCallback": "agent_service.client.curriculum",
    "DecisionRecorder": "agent_service.client.recorder",
    "HybridPolicy": "agent_service.client.policy",
}


def __getattr__(name: str) -> Any:
    """The VECTRA-PLAYER kit (docs/integration.md), imported on first use so that
    `AgentClient` alone still needs nothing but `requests` (the policy needs numpy)."""
    if name in _KIT:
        import importlib

        return getattr(importlib.import_module(_KIT[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
