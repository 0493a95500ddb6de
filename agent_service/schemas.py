"""Response models of the service's own endpoints (capabilities keep theirs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(None, description="present on validation errors")


class FieldProblem(BaseModel):
    field: str
    message: str


Problem.model_rebuild()


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Component(BaseModel):
    status: Literal["up", "down", "disabled"]
    mode: str
    required: bool
    latency_ms: float | None = None
    detail: str | None = None


class Ready(BaseModel):
    status: Literal["ready", "not_ready"]
    components: dict[str, Component]


class Serving(BaseModel):
    workers: int = Field(description="web worker processes running (one with embedded Qdrant)")
    threads: int = Field(description="request threads per worker")


class Info(BaseModel):
    version: str
    modes: dict[str, str] = Field(description="active mode of each backend")
    capabilities: list[str] = Field(
        description="capability endpoints this instance serves, named by path "
        "(/v1/coach/strategy: coach_strategy)"
    )
    serving: Serving
    settings: dict[str, object] = Field(description="effective settings, secrets masked")
