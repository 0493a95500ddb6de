"""The intent registry: one module per group, each exporting `INTENTS`.

A new group (a capability that lands) adds its module to `GROUPS`; nothing else changes.
Names are unique; the router embeds every example once per process.

Besides the examples each intent lists, the router learns from `phrasings/*.jsonl`:
questions written as users ask them, by other hands than the examples' (the earlier
routing evaluation sets, used up as held-out sets, and more paraphrases). Each line is
`{"message", "intent"}` (an example of that intent) or `{"message", "ambiguous": [...]}`
(a question to ask back; the tests check it is). Those with an empty list are outside
what the chat answers ("should I buy dogecoin", "what's the weather"): the router learns
them as one more class, which is asked back, never answered (`outside`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

from capabilities.chat.intent import Intent
from capabilities.chat.intents import analyst, data, fairness, game, knowledge, rewards, system
from capabilities.chat.intents import meta as meta_group
from capabilities.chat.intents import opponents as opponents_group
from capabilities.chat.intents import tournaments as tournaments_group
from capabilities.chat.intents import training as training_group

GROUPS = (
    game,
    analyst,
    data,
    fairness,
    knowledge,
    training_group,
    tournaments_group,
    meta_group,
    opponents_group,
    system,
    rewards,
)
PHRASINGS = Path(__file__).resolve().parent / "phrasings"


def _rows(exclude: Iterable[str]) -> list[dict]:
    skip = set(exclude)
    return [
        json.loads(line)
        for path in sorted(PHRASINGS.glob("*.jsonl"))
        if path.stem not in skip
        for line in path.read_text().splitlines()
    ]


def phrasings(exclude: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """Each intent's questions from `phrasings/<set>.jsonl`, but the sets excluded (a
    cross-validation leaves one out)."""
    found: dict[str, list[str]] = {}
    for row in _rows(exclude):
        if row.get("intent"):
            found.setdefault(row["intent"], []).append(row["message"])
    return {name: tuple(messages) for name, messages in found.items()}


def outside(exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """Questions outside what the chat answers (marked ambiguous with no likely intent)."""
    return tuple(r["message"] for r in _rows(exclude) if r.get("ambiguous") == [])


def registry(exclude: Iterable[str] = ()) -> tuple[Intent, ...]:
    """Every group's intents, their examples extended by the phrasings (`exclude`: sets
    left out)."""
    extra = phrasings(exclude)
    return tuple(
        dataclasses.replace(i, examples=i.examples + extra.get(i.name, ()))
        for group in GROUPS
        for i in group.INTENTS
    )


REGISTRY: tuple[Intent, ...] = registry()
OUTSIDE: tuple[str, ...] = outside()
BY_NAME: dict[str, Intent] = {i.name: i for i in REGISTRY}
assert len(BY_NAME) == len(REGISTRY), "intent names must be unique"
