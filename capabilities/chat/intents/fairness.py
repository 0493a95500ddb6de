"""Provably-fair verification of a stored round (the replay behind POST /v1/games/verify)."""

from __future__ import annotations

from typing import Any

from capabilities.chat.intent import ChatContext, Intent, need
from capabilities.chat.intents.data import ROUND_Q
from capabilities.chat.slots import Slots
from capabilities.engines.runtime.evidence import Evidence
from tools.verification import verify_stored_round


def verify(context: ChatContext, slots: Slots, found: Evidence) -> str:
    game_id = need(slots, "game_id", ROUND_Q)

    def verify_round(**kw: Any) -> dict[str, Any] | None:
        verdict = verify_stored_round(context.database, kw["game_id"])
        return None if verdict is None else {**verdict.detail(), "ok": verdict.ok}

    r = found.call(verify_round, game_id=game_id)
    if r is None:
        return (
            f"Round {game_id} is not stored, so it cannot be replayed here; POST "
            "/v1/games/verify takes its revealed server seed and prices directly."
        )
    if r.get("replay_ok") is None:
        return f"Round {game_id} cannot be verified yet: {r.get('reason') or 'no seed stored'}."
    if r["ok"]:
        hashed = (
            "its seed matches the published hash" if r.get("hash_ok")
            else "no seed hash was published to check"
        )  # fmt: skip
        return (
            f"Round {game_id} is fair: replaying its revealed seed reproduces the recorded "
            f"prices and the rug at tick {r.get('rug_tick')} (engine {r.get('version')}); "
            f"{hashed}."
        )
    return (
        f"Round {game_id} did NOT verify: {r.get('reason') or 'the replay differs'} "
        f"(hash_ok {r.get('hash_ok')}, replay_ok {r.get('replay_ok')})."
    )


INTENTS = (
    Intent(
        name="fairness.verify",
        capability="fairness",
        description="whether a round was provably fair (seed replay)",
        examples=(
            "is round 20250101-0123456789abcdef fair?",
            "verify round 20250101-0123456789abcdef",
            "was game 20250101-0123456789abcdef rigged",
            "check the seed of round 20250101-0123456789abcdef",
            "can you prove this round was fair",
            "does the server seed match the hash for this game",
            "replay round 20250101-0123456789abcdef from its seed",
            "was this round manipulated",
            "was round 20250101-0123456789abcdef tampered with",
            "is the game legit or rigged",
            "prove round 20250101-0123456789abcdef was not manipulated",
            "was round 20250202-00112233445566ff fair",
            "check round 20250202-00112233445566ff against its seed",
            "did the server rig game 20250202-00112233445566ff",
            "verify the fairness of 20250202-00112233445566ff",
            "is this round's outcome provable",
            "replay the server seed of 20250202-00112233445566ff",
            "can the result of 20250202-00112233445566ff be trusted",
            "was the last game manipulated",
        ),
        handler=verify,
        keyword=r"\b(fair(ness)?|verify|rigged|provabl\w*|manipulat\w*|tamper\w*|honest|rng|cheat\w*)\b",
        cues=(
            r"\b(fair|rigged|manipulat\w*|tamper\w*|legit)\b",
            r"\b(verify|seed|hash|provabl\w*)\b",
        ),
    ),
)
