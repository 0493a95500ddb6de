"""Capabilities other work is still adding or that need more than a sentence (reward
review, which takes a reward spec). Their intents are routed like the
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
            "check my reward function",
            "is my reward shaping sensible",
            "does my reward match the game's payouts",
            "review the rewards of my RL environment",
            "does my reward push the bot to bet too often",
            "is the sell reward in my spec too big",
            "validate my reward specification",
            "is my reward aligned with real profit",
        ),
        (r"\breward (function|shaping)\b", r"\breward\w*\b"),
        r"\breward (function|shaping)\b",
    ),
)
