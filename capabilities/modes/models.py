"""Answer models of GET /v1/modes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ModeInfo(BaseModel):
    name: str
    source: Literal["packaged", "dir", "db"] = Field(
        description="packaged with the service, a file of AGENT_MODES_DIR, or declared by "
        "`agent-service import --mode NAME --base MODE` (stored in PostgreSQL)"
    )
    base: str | None = Field(description="the mode whose rules this one starts from")
    origin: str = Field(description="the mode's file, or `modes table`")
    description: str
    rules: dict[str, Any] = Field(description="every rule of the mode (game.rules.GameRules)")


class ModeList(BaseModel):
    modes: list[ModeInfo]
