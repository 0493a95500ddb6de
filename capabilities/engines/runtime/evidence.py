"""Evidence: what a capability gathered with its tools, by name, with every call timed.

Capabilities call tools through `Evidence.call` so each call is recorded (name,
arguments, duration, ok or error) and its output becomes a named evidence item the
answer's numbers are checked against.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class ToolCallRecord:
    tool: str
    arguments: dict[str, Any]
    started_at: datetime
    duration_ms: float
    ok: bool
    error: str | None = None


@dataclass
class Evidence(Mapping[str, Any]):
    """Named evidence items and the tool calls that produced them."""

    items: dict[str, Any] = field(default_factory=dict)
    calls: list[ToolCallRecord] = field(default_factory=list)

    def call(
        self, tool: Callable[..., Any], /, *, as_name: str | None = None, **arguments: Any
    ) -> Any:
        """Run `tool(**arguments)`, record the call, keep the output as evidence under
        `as_name` (default: the tool's `name`). Errors are recorded and re-raised."""
        name = as_name or getattr(tool, "name", None) or getattr(tool, "__name__", "tool")
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        try:
            output = tool(**arguments)
        except Exception as exc:
            self.calls.append(
                ToolCallRecord(
                    name, arguments, started_at, _ms(started), False, f"{type(exc).__name__}: {exc}"
                )
            )
            raise
        self.calls.append(ToolCallRecord(name, arguments, started_at, _ms(started), True))
        self.items[name] = output
        return output

    def add(self, name: str, value: Any) -> None:
        """Evidence that did not come from a tool call (e.g. a fitted model's output)."""
        self.items[name] = value

    def __getitem__(self, name: str) -> Any:
        return self.items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
