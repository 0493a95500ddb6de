"""Conversations in PostgreSQL (migration 0091): turns, their slots, and the evidence
each answer rested on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from capabilities.chat.models import ChatResponse
from tools.postgres import Database

HISTORY_TURNS = 20  # read back at most; the agent's budget trims further


@dataclass(frozen=True)
class Turn:
    turn: int
    message: str
    answer: str
    intent: str | None
    slots: dict[str, Any]
    asked_slot: str | None = None  # the value this turn asked the user for


@dataclass(frozen=True)
class Conversation:
    id: uuid.UUID
    bot_id: str | None
    mode: str | None
    turns: list[Turn]

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None


class ConversationStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def open(
        self, conversation_id: uuid.UUID | None, bot_id: str | None, mode: str | None
    ) -> Conversation | None:
        """The conversation with its latest turns (oldest first); a new one when no id is
        given; None when the id is unknown."""
        if conversation_id is None:
            return Conversation(uuid.uuid4(), bot_id, mode, [])
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT bot_id, mode FROM chat_conversations WHERE id = %s", (conversation_id,)
            ).fetchone()
            if row is None:
                return None
            rows = conn.execute(
                "SELECT turn, message, answer, intent, slots, clarification->>'slot'"
                " FROM chat_turns"
                " WHERE conversation_id = %s ORDER BY turn DESC LIMIT %s",
                (conversation_id, HISTORY_TURNS),
            ).fetchall()
        turns = [Turn(*r) for r in reversed(rows)]
        return Conversation(conversation_id, bot_id or row[0], mode or row[1], turns)

    def append(
        self,
        conversation: Conversation,
        message: str,
        response: ChatResponse,
        duration_ms: float,
    ) -> int:
        """Store the turn and its evidence; returns its number. The conversation row is
        created on the first turn and locked by each (the upsert), so turns of one
        conversation get consecutive numbers even when sent at once."""
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO chat_conversations (id, bot_id, mode, turns) VALUES (%s, %s, %s, 1)"
                " ON CONFLICT (id) DO UPDATE SET turns = chat_conversations.turns + 1,"
                " updated_at = now(),"
                " bot_id = coalesce(EXCLUDED.bot_id, chat_conversations.bot_id),"
                " mode = coalesce(EXCLUDED.mode, chat_conversations.mode)",
                (conversation.id, conversation.bot_id, conversation.mode),
            )
            clarification = response.clarification
            turn_id, turn = conn.execute(
                "INSERT INTO chat_turns (conversation_id, turn, message, answer, intent,"
                " capability, confidence, slots, clarification, generated_by, run_id,"
                " duration_ms) VALUES (%s, (SELECT coalesce(max(turn), 0) + 1 FROM chat_turns"
                " WHERE conversation_id = %s), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " RETURNING id, turn",
                (
                    conversation.id, conversation.id, message, response.answer, response.intent,
                    response.capability, response.confidence, Jsonb(response.slots),
                    Jsonb(clarification.model_dump(mode="json")) if clarification else None,
                    response.generated_by, response.run_id, duration_ms,
                ),
            ).fetchone()  # fmt: skip
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO chat_evidence (turn_id, position, source, arguments,"
                    " duration_ms, ok, figures) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [
                        (turn_id, k, e.source, Jsonb(e.arguments), e.duration_ms, e.ok,
                         Jsonb(e.figures))
                        for k, e in enumerate(response.evidence)
                    ],
                )  # fmt: skip
        return int(turn)
