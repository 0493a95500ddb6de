"""What an intent is: example phrasings for the router, the slots it needs, and a handler
that calls its capability and answers from that capability's numbers.

A handler gets the turn's slots and an `Evidence` to call its tools through (each call
is timed, streamed and kept as evidence); it returns the answer's text. It raises
`MissingSlot` when the question lacks something only the user can say (which round?),
and the turn becomes a question back.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from capabilities.chat.slots import Slots
from capabilities.engines.runtime.evidence import Evidence
from tools.postgres import Database

if TYPE_CHECKING:
    from capabilities.engines.game_models.registry import ModelSet
    from capabilities.engines.runtime import Runtime
    from tools.knowledge import KnowledgeBase


class MissingSlot(Exception):
    """The question needs a value the message does not give; `question` asks for it."""

    def __init__(self, slot: str, question: str) -> None:
        super().__init__(question)
        self.slot = slot
        self.question = question


@dataclass(frozen=True)
class ChatContext:
    """The backends an intent may use; built per request by the view."""

    database: Database
    model_set: Callable[[str], ModelSet]
    knowledge: Callable[[], KnowledgeBase] | None = None
    runtime: Runtime | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    default_mode: str = "classic"
    message: str = ""  # the turn's own words (a knowledge search's query)
    bot_id: str | None = None


Handler = Callable[[ChatContext, Slots, Evidence], str]


@dataclass(frozen=True)
class Intent:
    """One kind of question. `capability` names what answers it (shown to the user and in
        the response); `cues` are words that mark it, a tie-breaker between intents whose
    examples read alike ("was it smart to sell" is the analyst's, "should I sell" the
    coach's); `requires` names a module that must be importable for the intent to be
        served (a capability still being built elsewhere answers that it is not available)."""

    name: str
    capability: str
    description: str
    examples: tuple[str, ...]
    handler: Handler
    requires: str | None = None
    cues: tuple[str, ...] = ()  # regexes of words that mark the intent (router.CUE_BONUS each)
    expects: str | None = None  # a slot the question names (router.EXPECT_PENALTY without)
    avoids: tuple[str, ...] = ()  # slots its questions never name (router.EXPECT_PENALTY with)
    keyword: str | None = None  # a regex only this intent's questions use (router.KEYWORD_BONUS)
    # a slot holding an id the intent looks up by itself (a job's or a training run's uuid):
    # a message that gives only such an id is asked back offering every intent that does
    looks_up: str | None = None

    @property
    def available(self) -> bool:
        return self.requires is None or _importable(self.requires)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def need(slots: Slots, name: str, question: str) -> Any:
    """The slot's value, or a question back when the message did not give it."""
    value = getattr(slots, name)
    if value is None:
        raise MissingSlot(name, question)
    return value


def mode_of(context: ChatContext, slots: Slots) -> str:
    return slots.mode or context.default_mode
