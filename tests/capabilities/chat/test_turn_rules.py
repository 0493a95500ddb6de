"""The turn's rules that need no backend: history within the token budget, secrets
redacted, what counts as a follow-up."""

from __future__ import annotations

import uuid

from capabilities.chat.router import Route
from capabilities.chat.service import history, is_follow_up, redact
from capabilities.chat.slots import extract
from capabilities.chat.store import Conversation, Turn


def _conversation(n: int, size: int) -> Conversation:
    turns = [Turn(k, f"q{k} " + "x" * size, f"a{k} " + "y" * size, None, {}) for k in range(n)]
    return Conversation(uuid.uuid4(), None, None, turns)


def test_history_keeps_the_newest_turns_within_the_budget():
    kept = history(_conversation(10, 200), tokens=250)  # 1,000 characters: two turns
    assert [h["user"][:2] for h in kept] == ["q8", "q9"]
    assert history(_conversation(3, 10)) == [
        {"user": f"q{k} " + "x" * 10, "assistant": f"a{k} " + "y" * 10} for k in range(3)
    ]
    assert history(_conversation(1, 10_000), tokens=100) == []


def test_secrets_are_redacted_and_short_strings_left_alone():
    text = "the key is test-key-0123456789, the token hf_abcdef, and 12345"
    out = redact(text, ("test-key-0123456789", "hf_abcdef", "123"))
    assert out == "the key is [redacted], the token [redacted], and 12345"


def test_follow_ups():
    nothing = Route(None, 0.2, (), "low_confidence")
    confident = Route(object(), 0.9, ())  # type: ignore[arg-type]
    assert is_follow_up("and at tick 300?", confident, extract("and at tick 300?"))
    assert is_follow_up("what about fast rug", confident, extract("what about fast rug"))
    assert is_follow_up("tick 300 then", nothing, extract("tick 300 then"))
    assert not is_follow_up("banana bread", nothing, extract("banana bread"))
    reply = "20250101-0123456789abcdef"
    assert is_follow_up(reply, confident, extract(reply), asked="game_id")
    assert not is_follow_up("how many rounds today?", confident, extract("how many rounds today?"))
    # an order is never the last turn's question again, short and with a value as it is
    order = Route(None, 0.9, (), "order", unlike=True)
    assert not is_follow_up("sell 50% now", order, extract("sell 50% now"))
    assert is_follow_up("sell 50% now", nothing, extract("sell 50% now"))
