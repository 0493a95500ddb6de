"""Job handlers by kind, and the modules that register them.

A handler is a plain function `fn(payload, progress) -> result`; it must be importable
by every process that runs jobs (web process in-process mode, `agent-service worker`),
so handlers are registered when their module is imported and workers import the
modules listed in `HANDLER_MODULES` plus those named by `AGENT_JOBS_HANDLERS`.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

Progress = Callable[[float, str], None]
Handler = Callable[[dict[str, Any], Progress], dict[str, Any]]

KIND = re.compile(r"^[a-z][a-z0-9_.:-]{0,99}$")
# capability modules that register job handlers; every job-running process imports them
HANDLER_MODULES: tuple[str, ...] = (
    "capabilities.discovery.job",
    "capabilities.hybrid.advice",
    "capabilities.meta.transfer",
    "capabilities.rewards.jobs",
    "capabilities.opponents.jobs",
    "capabilities.training.jobs",
    "capabilities.tournaments.jobs",
)

_handlers: dict[str, Handler] = {}
_lock = threading.Lock()


def register_handler(kind: str, fn: Handler) -> Handler:
    """Register `fn` for jobs of `kind` (re-registering the same function is a no-op)."""
    if not KIND.match(kind):
        raise ValueError(f"job kind {kind!r} must match {KIND.pattern}")
    with _lock:
        existing = _handlers.get(kind)
        if existing is not None and existing is not fn:
            raise ValueError(f"job kind {kind!r} already has a handler: {existing!r}")
        _handlers[kind] = fn
    return fn


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Decorator form of `register_handler`."""
    return lambda fn: register_handler(kind, fn)


def handler_for(kind: str) -> Handler | None:
    with _lock:
        return _handlers.get(kind)


def registered_kinds() -> list[str]:
    with _lock:
        return sorted(_handlers)


def load_handler_modules(extra: Iterable[str] = ()) -> list[str]:
    """Import `HANDLER_MODULES` and `extra`; ValueError naming a module that fails."""
    loaded = []
    for name in (*HANDLER_MODULES, *extra):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ValueError(f"cannot import job handler module {name!r}: {exc}") from exc
        loaded.append(name)
    return loaded
