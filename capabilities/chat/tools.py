"""The chat agent's tools (with a language model configured): one per capability intent,
plus the shared data tools (named analytics queries, guarded SQL, knowledge search).

Built per request: an intent tool runs its intent's handler over the request's backends,
and every tool call, shared ones included (`Streamed`), is reported to the request's
sink as it ends, so a streamed answer shows each call with its duration. None of the
tools writes: the event publisher's alert tool is not given to the chat, the SQL tool
runs as the read-only `agent_sql` login behind its guard, and no tool fetches a URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from smolagents import Tool

from capabilities.chat.intent import ChatContext, Intent, MissingSlot
from capabilities.chat.slots import Slots
from capabilities.chat.text import compact
from capabilities.engines.runtime.evidence import Evidence
from tools.agent_tools.base import ToolError, to_json

Sink = Callable[[str, dict[str, Any]], None]

# the intents offered to the agent as tools (the others are list-like or about the chat)
AGENT_INTENTS = (
    "coach.sell_now", "coach.bet_now", "models.rug_chance", "models.price", "analyst.explain",
    "analyst.why", "analyst.surrogate", "hybrid.decide", "hybrid.stats", "fairness.verify",
    "discovery.predictors", "opponents.profile", "data.round", "training.run_status",
    "training.compare_oracle", "curriculum.next", "tournaments.results", "meta.adapt",
    "jobs.status",
)  # fmt: skip

_SLOT_INPUTS: dict[str, dict[str, Any]] = {
    "mode": {"type": "string", "description": "game mode, e.g. classic"},
    "tick": {"type": "integer", "description": "tickCount of the state"},
    "price": {"type": "number", "description": "price multiple, e.g. 1.9"},
    "stake": {"type": "number", "description": "SOL staked"},
    "game_id": {"type": "string", "description": "round id YYYYMMDD-<16 hex>"},
    "run_id": {"type": "string", "description": "training run or job id (uuid)"},
    "bot_id": {"type": "string", "description": "the bot or policy id"},
    "player": {"type": "string", "description": "a player's id or username"},
    "since_hours": {"type": "number", "description": "window: the last H hours"},
    "last_n": {"type": "integer", "description": "window: the last N rounds"},
    "action": {"type": "string", "description": "hold, buy, sell or sidebet"},
}
SLOT_INPUTS = {k: {**v, "nullable": True} for k, v in _SLOT_INPUTS.items()}


def report(sink: Sink, tool: str, arguments: dict[str, Any], started: float, ok: bool,
           output: Any = None, error: str | None = None) -> None:  # fmt: skip
    sink("tool_call", {"tool": tool, "arguments": compact(arguments), "ok": ok,
                       "duration_ms": round((time.perf_counter() - started) * 1000.0, 3),
                       "output": output, "error": error})  # fmt: skip


class IntentTool(Tool):
    """One capability intent as a tool: the slots as optional inputs, the intent's answer
    and its evidence as the output."""

    output_type = "string"
    skip_forward_signature_validation = True  # forward takes the slots; built per request

    def __init__(self, intent: Intent, context: ChatContext, sink: Sink) -> None:
        self.name = intent.name.replace(".", "_")
        self.description = (
            f"{intent.description[0].upper()}{intent.description[1:]} ({intent.capability} "
            "capability). Pass only the inputs the question gives; the tool says what it "
            'still needs. Returns JSON {"answer": text, "evidence": {source: figures}}.'
        )
        self.inputs = SLOT_INPUTS
        self._intent = intent
        self._context = context
        self._sink = sink
        super().__init__()
        self.is_initialized = True

    def forward(self, **arguments: Any) -> str:
        given = {k: v for k, v in arguments.items() if k in SLOT_INPUTS and v is not None}
        slots = Slots.from_json(given)
        found = Evidence()
        started = time.perf_counter()
        try:
            text = self._intent.handler(self._context, slots, found)
        except MissingSlot as exc:
            report(self._sink, self.name, given, started, False, error=exc.question)
            raise ToolError(self.name, exc.question, exc.slot) from exc
        output = {"answer": text, "evidence": compact(dict(found.items))}
        report(self._sink, self.name, given, started, True, output)
        return to_json(output, max_text=1200)


class Streamed(Tool):
    """A shared tool whose calls are reported to this request's sink."""

    skip_forward_signature_validation = True

    def __init__(self, inner: Tool, sink: Sink) -> None:
        self.name = inner.name
        self.description = inner.description
        self.inputs = inner.inputs
        self.output_type = inner.output_type
        self._inner = inner
        self._sink = sink
        super().__init__()
        self.is_initialized = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            output = self._inner.forward(*args, **kwargs)
        except Exception as exc:
            report(self._sink, self.name, kwargs, started, False, error=str(exc)[:300])
            raise
        try:
            shown = json.loads(output) if isinstance(output, str) else output
        except ValueError:
            shown = output
        report(self._sink, self.name, kwargs, started, True, compact(shown))
        return output


def chat_tools(
    intents: Sequence[Intent], shared: Sequence[Tool], context: ChatContext, sink: Sink
) -> list[Tool]:
    """This request's tools: the served intents of AGENT_INTENTS, then the shared tools."""
    by_name = {i.name: i for i in intents}
    own: list[Tool] = [
        IntentTool(by_name[name], context, sink)
        for name in AGENT_INTENTS
        if name in by_name and by_name[name].available
    ]
    return own + [Streamed(tool, sink) for tool in shared]
