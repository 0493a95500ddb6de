"""Job kinds for the job tests. Worker processes import this module (`--handlers
tests.support.job_handlers`), so every kind is a plain module-level function.

Handlers append `<event> <pid>` lines to `payload["log"]` when given, which is how the
tests see which process started and finished a job."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from capabilities.engines.jobs import Progress, handler


def _record(payload: dict[str, Any], event: str) -> None:
    if payload.get("log"):
        with open(payload["log"], "a") as log:
            log.write(f"{event} {os.getpid()}\n")


def events(path: Path) -> list[tuple[str, int]]:
    """The (event, pid) lines a handler wrote."""
    if not path.exists():
        return []
    return [(e, int(p)) for e, p in (line.split() for line in path.read_text().splitlines())]


@handler("test.sleep")
def sleep_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Sleeps `seconds` in `steps`, reporting progress after each."""
    _record(payload, "start")
    steps = int(payload.get("steps", 1))
    for step in range(1, steps + 1):
        time.sleep(float(payload.get("seconds", 0)) / steps)
        progress(step / steps, f"step {step} of {steps}")
    _record(payload, "done")
    return {"pid": os.getpid(), "echo": payload.get("echo")}


@handler("test.fail")
def failing_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Fails every attempt."""
    _record(payload, "start")
    raise RuntimeError(payload.get("message", "this job always fails"))


@handler("test.flaky")
def flaky_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Fails its first `failures` attempts (counted in `payload["log"]`), then succeeds."""
    _record(payload, "start")
    if len(events(Path(payload["log"]))) <= int(payload["failures"]):
        raise ValueError("not yet")
    return {"ok": True}


@handler("test.unstorable")
def unstorable_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Returns valid JSON that jsonb refuses (a NUL character)."""
    return {"text": "a\u0000b"}
