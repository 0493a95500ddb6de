"""Reward Shaping: the bot's own reward reviewed against the game's economics (the
exact review behind POST /v1/rewards/review, for the mode asked about). A reward spec of
the user's own does not fit in a chat message: the answer says where to send one."""

from __future__ import annotations

from typing import Any

from capabilities.chat.intent import ChatContext, Intent, mode_of
from capabilities.chat.slots import Slots
from capabilities.chat.text import num, pct, sol
from capabilities.engines.runtime.evidence import Evidence
from capabilities.rewards.models import ReviewRequest
from capabilities.rewards.service import review


def review_reward(context: ChatContext, slots: Slots, found: Evidence) -> str:
    def reward_review(**kw: Any) -> dict[str, Any]:
        answer = review(ReviewRequest(mode=kw["mode"]))
        proposal = answer["proposal"]
        return {
            "mode": answer["mode"],
            "gamma": answer["gamma"],
            "reward_optimum": answer["reward_optimum"].model_dump(),
            "true_optimum": answer["true_optimum"].model_dump(),
            "ev_lost_per_round": answer["ev_lost_per_round"],
            "findings": answer["findings"],
            "proposal": {
                "gamma": proposal.gamma,
                "optimum": proposal.optimum.model_dump(),
                "ev_lost_per_round": proposal.ev_lost_per_round,
            },
        }

    r = found.call(reward_review, mode=mode_of(context, slots))
    own, true, fix = r["reward_optimum"], r["true_optimum"], r["proposal"]
    return (
        f"The bot's own reward in {r['mode']} (gamma {num(r['gamma'])}): its optimum "
        f"{own['description']}, expected profit {sol(own['pnl_per_round'])} per round per SOL "
        f"staked (win rate {pct(own['win_rate'])}); the true optimum {true['description']} "
        f"({sol(true['pnl_per_round'])}). Following the reward costs "
        f"{sol(r['ev_lost_per_round'])} per round. The proposed reward (gamma "
        f"{num(fix['gamma'])}) loses {sol(fix['ev_lost_per_round'])} per round. "
        f"{r['findings'][1] if len(r['findings']) > 1 else ''} "
        "To review a reward of your own, POST it to /v1/rewards/review."
    ).strip()


INTENTS = (
    Intent(
        name="rewards.ask",
        capability="rewards",
        description="check a reward function against the game's economics (Reward Shaping)",
        examples=(
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
        handler=review_reward,
        cues=(
            r"\breward (function|shaping)\b"
            r"|(?<![\w.])[+-]\d+(\.\d+)?(?!\s*(sol|%|x\b|\d))",  # a signed value: "+4 for a win"
            r"\breward\w*\b|\b(penalt\w*|bonus\w*|penalize\w*)\b|\b(give|gives|giving|get|gets)\s+[+-]\d",
        ),
        keyword=r"\breward (function|shaping)\b",
    ),
)
