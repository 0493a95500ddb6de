"""A capability whose `gather` computes a value (an expected-value decision, or the whole
answer) that its `compute` then reads: built per request, so the value travels with the
request only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from capabilities.engines.runtime import Answer, Capability
from capabilities.engines.runtime import Evidence as Gathered

if TYPE_CHECKING:  # smolagents loads only when a model is configured
    from smolagents import Tool

Req = TypeVar("Req", bound=BaseModel)
Resp = TypeVar("Resp", bound=Answer)
Value = TypeVar("Value")


def decision_capability(
    *,
    name: str,
    response_model: type[Resp],
    gather: Callable[[Req, Gathered], Value],
    compute: Callable[[Req, Gathered, Value], Resp],
    instructions: str,
    budget_s: float = 20.0,
    tools: Sequence[Tool] = (),
) -> Capability[Req, Resp]:
    decided: list[Value] = []

    def _gather(request: Req, found: Gathered) -> None:
        decided.append(gather(request, found))

    def _compute(request: Req, found: Gathered) -> Resp:
        return compute(request, found, decided[-1])

    return Capability(
        name=name,
        response_model=response_model,
        gather=_gather,
        compute=_compute,
        narrate=True,
        tools=tools,
        instructions=instructions,
        budget_s=budget_s,
    )
