"""Readiness checks of each backend, run concurrently with timeouts and cached briefly.

A component is `up`, `down` or `disabled`; the service is ready when every required
component is up. The LLM is never required: every endpoint answers without one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from agent_service.metrics import BACKEND_CHECK_SECONDS, BACKEND_UP
from agent_service.wiring import Backends
from tools.amqp import ping_amqp
from tools.llm.models import probe
from tools.qdrant_store import ping_qdrant
from tools.redact import mask_url


@dataclass(frozen=True)
class ComponentStatus:
    status: str  # up | down | disabled
    mode: str  # embedded | external | disabled | hf | openai | ...
    required: bool
    latency_ms: float | None = None
    detail: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    mode: str
    required: bool
    probe: Callable[[], str | None] | None  # returns a detail; raises when down


class Readiness:
    def __init__(self, checks: dict[str, Check], *, cache_s: float, timeout_s: float) -> None:
        self._checks = checks
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, ComponentStatus]] | None = None
        self._pool = ThreadPoolExecutor(max_workers=len(checks) or 1, thread_name_prefix="ready")

    def components(self) -> dict[str, ComponentStatus]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self._cache_s:
                return self._cached[1]
            futures = {
                name: self._pool.submit(self._run, name, c) for name, c in self._checks.items()
            }
            result = {}
            for name, future in futures.items():
                try:
                    result[name] = future.result(timeout=self._timeout_s + 1)
                except TimeoutError:
                    check = self._checks[name]
                    result[name] = ComponentStatus(
                        "down", check.mode, check.required, detail="check timed out"
                    )
            for name, status in result.items():
                if status.status != "disabled":
                    BACKEND_UP.labels(component=name).set(1 if status.status == "up" else 0)
            self._cached = (time.monotonic(), result)
            return result

    @staticmethod
    def is_ready(components: dict[str, ComponentStatus]) -> bool:
        return all(c.status == "up" for c in components.values() if c.required)

    def _run(self, name: str, check: Check) -> ComponentStatus:
        if check.probe is None:
            return ComponentStatus("disabled", check.mode, check.required)
        started = time.perf_counter()
        try:
            detail = check.probe()
            status = "up"
        except Exception as exc:  # any failure of a probe means the component is down
            detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            status = "down"
        elapsed = time.perf_counter() - started
        BACKEND_CHECK_SECONDS.labels(component=name).observe(elapsed)
        detail = mask_url(detail) if detail else detail  # a probe may quote its URL
        return ComponentStatus(status, check.mode, check.required, round(elapsed * 1000, 2), detail)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def build_readiness(backends: Backends) -> Readiness:
    """The four components: postgres, qdrant, rabbitmq and llm."""
    settings = backends.settings
    timeout = settings.check_timeout_s

    def postgres() -> str | None:
        backends.database.ping(timeout)
        return None

    def qdrant() -> str:
        client = backends.qdrant()
        with backends.qdrant_use_lock:
            return f"{ping_qdrant(client)} collections"

    amqp_url = backends.amqp_url

    def rabbitmq() -> None:
        assert amqp_url is not None
        ping_amqp(amqp_url, timeout)

    chain = settings.llm_chain
    llm_config = settings.llm_config
    checks = {
        "postgres": Check(settings.postgres_mode, True, postgres),
        "qdrant": Check(settings.qdrant_mode, True, qdrant),
        "rabbitmq": Check(settings.amqp_mode, amqp_url is not None, rabbitmq if amqp_url else None),
        # the primary model of the chain; never required (every endpoint answers without)
        "llm": Check(
            chain[0].key if chain else "none",  # no URL: /ready is open to anyone
            False,
            (lambda: probe(chain[0], llm_config, timeout)) if chain else None,
        ),
    }
    return Readiness(checks, cache_s=settings.check_cache_s, timeout_s=timeout)
