"""The intent registry: one module per group, each exporting `INTENTS`.

A new group (a capability that lands) adds its module to `GROUPS`; nothing else changes.
Names are unique; the router embeds every example once per process.
"""

from __future__ import annotations

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
REGISTRY: tuple[Intent, ...] = tuple(i for group in GROUPS for i in group.INTENTS)
BY_NAME: dict[str, Intent] = {i.name: i for i in REGISTRY}
assert len(BY_NAME) == len(REGISTRY), "intent names must be unique"
