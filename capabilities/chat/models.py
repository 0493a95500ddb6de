"""Request and answer of `POST /v1/chat`."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from capabilities.engines.state import BotId, ModeName


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: uuid.UUID | None = Field(
        None, description="continue this conversation (omit to start one)"
    )
    message: str = Field(min_length=1, max_length=2000, description="the question")
    mode: ModeName | None = Field(None, description="game mode the question is about")
    bot_id: BotId | None = Field(None, description="the bot 'my bot' means")


class ChatEvidence(BaseModel):
    source: str = Field(description="the tool or model the figures came from")
    arguments: dict[str, Any] = Field(default_factory=dict)
    duration_ms: float | None = None
    ok: bool = True
    figures: Any = Field(None, description="what it returned (long values cut)")


class ClarifyOption(BaseModel):
    intent: str
    capability: str
    description: str
    score: float


Reason = Literal["low_confidence", "ambiguous", "missing_slot", "two_questions", "order"]


class Clarification(BaseModel):
    reason: Reason = Field(
        description="why the chat asks back: unsure (low_confidence, ambiguous), a value "
        "missing (missing_slot), two questions in one (two_questions: `options` offers both), "
        "or an order it cannot carry out (order: a trade, an operation, a change)"
    )
    question: str
    options: list[ClarifyOption] = Field(default_factory=list)
    slot: str | None = Field(None, description="the value the question needs (missing_slot)")


class ChatResponse(BaseModel):
    conversation_id: uuid.UUID
    turn: int
    answer: str
    intent: str | None = Field(description="the intent answered; null when asking back")
    capability: str | None
    confidence: float = Field(description="the router's similarity score of the intent")
    follow_up: bool = Field(False, description="the intent and slots came from the last turn")
    slots: dict[str, Any] = Field(default_factory=dict)
    evidence: list[ChatEvidence] = Field(default_factory=list)
    generated_by: str = Field(description="`deterministic` or `model:<backend>:<model id>`")
    fallback_reason: str | None = None
    groundedness: float | None = None
    clarification: Clarification | None = None
    run_id: str | None = None
