"""What a capability declares to run through the runtime, and the fields every answer
carries to say what produced it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from capabilities.engines.runtime.evidence import Evidence
from tools.postgres import Database

if TYPE_CHECKING:  # smolagents loads only when a model is called
    from smolagents import Tool

FallbackReason = Literal[
    "no_llm", "budget", "timeout", "model_error", "invalid_answer", "ungrounded"
]


class NumberSource(BaseModel):
    value: str = Field(description="a number as the narrative quotes it")
    source: str = Field(description="the evidence item (tool output or model) it came from")


class Answer(BaseModel):
    """Base of every capability response: the runtime fills these fields."""

    generated_by: str = Field(
        "deterministic", description="`deterministic` or `model:<backend>:<model id>`"
    )
    fallback_reason: FallbackReason | None = Field(
        None, description="why the answer is not the first model's narrative, when it is not"
    )
    cached: bool = Field(False, description="served from the answer cache")
    summary: str | None = Field(None, description="the model's narrative over the numbers")
    groundedness: float | None = Field(
        None, description="share of the narrative's numbers found in the evidence"
    )
    sources: list[NumberSource] = Field(
        default_factory=list, description="which evidence each quoted number came from"
    )
    evidence: list[str] = Field(
        default_factory=list, description="the evidence items (tools, models) the numbers use"
    )
    run_id: str | None = Field(None, description="the runtime's record of this request")


class Narrative(BaseModel):
    """What the agent must return by default: prose over the computed numbers."""

    summary: str = Field(min_length=1)


Req = TypeVar("Req", bound=BaseModel)
Resp = TypeVar("Resp", bound=Answer)


@dataclass(frozen=True)
class Capability(Generic[Req, Resp]):
    """A capability as the runtime runs it.

    `gather(request, evidence)` calls tools through `evidence.call` (and may
    `evidence.add` model outputs); `compute(request, evidence)` returns the deterministic
    answer from the evidence alone. With `narrate`, an agent with `tools` then writes a
    `narrative_model` over that answer; its fields are merged into the response, which
    must still validate as `response_model`. `data_version(database)` names the data the
    answer depends on (e.g. the newest game id), keying the cache with `cache_ttl_s`
    (None: the service default; 0: never cached).
    """

    name: str
    response_model: type[Resp]
    gather: Callable[[Req, Evidence], Any]
    compute: Callable[[Req, Evidence], Resp]
    narrate: bool = False
    tools: Sequence[Tool] = ()
    narrative_model: type[BaseModel] = Narrative
    instructions: str = ""
    max_steps: int | None = None
    budget_s: float | None = None
    data_version: Callable[[Database], str] | None = None
    cache_ttl_s: int | None = 0
