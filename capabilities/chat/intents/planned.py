"""Capabilities other work is still adding or that need more than a sentence (opponent
prediction; reward review, which takes a reward spec). Their intents are routed like the
others, so a question about them is recognised rather than misread as something else;
the answer says the capability is not available here, or, once its package is
installed, which endpoint serves it. When one lands, its own intent module replaces the
entry here (docs/chat.md, "Adding intents")."""

from __future__ import annotations

from collections.abc import Callable

from capabilities.chat.intent import ChatContext, Intent
from capabilities.chat.slots import Slots
from capabilities.runtime.evidence import Evidence


def _pending(name: str, module: str, endpoint: str) -> Callable[[ChatContext, Slots, Evidence],
                                                                 str]:  # fmt: skip
    def handler(context: ChatContext, slots: Slots, found: Evidence) -> str:
        intent = Intent(name, name, "", (), handler, requires=module)
        if intent.available:
            return f"{name} is served by {endpoint}; the chat does not drive it yet: call it there."
        return f"{name} is not available on this server yet ({endpoint} is not installed)."

    return handler


def _intent(name: str, module: str, endpoint: str, description: str,
            examples: tuple[str, ...], cues: tuple[str, ...],
            keyword: str | None = None) -> Intent:  # fmt: skip
    return Intent(
        name=f"{name}.ask",
        capability=name,
        description=description,
        examples=examples,
        handler=_pending(name, module, endpoint),
        requires=module,
        cues=cues,
        keyword=keyword,
    )


INTENTS = (
    _intent(
        "opponents",
        "capabilities.opponents",
        "POST /v1/opponents/predict",
        "what a player will do next (Opponent Modeling)",
        (
            "what will player Alice do next",
            "predict the next move of this player",
            "which archetype is player bob",
            "will this opponent sell soon",
            "what kind of trader is this opponent",
            "what is trader bob going to do",
            "will player Alice buy or sell next",
        ),
        (
            r"\b(predict\w*|next move|do next|archetype|going to do)\b",
            r"\b(player|opponent|trader)\b",
        ),
    ),
    _intent(
        "rewards",
        "capabilities.rewards",
        "POST /v1/rewards/review",
        "check a reward function against the game's economics (Reward Shaping)",
        (
            "is my reward function right",
            "review my bot's reward shaping",
            "does my reward match the real payouts",
            "propose a better reward for my bot",
            "is my reward potential based",
        ),
        (r"\breward (function|shaping)\b", r"\breward\w*\b"),
        r"\breward (function|shaping)\b",
    ),
)
