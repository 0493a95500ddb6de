"""Multi-Agent Orchestration: the newest tournament's standing (POST /v1/tournaments
starts one; the chat only reads)."""

from __future__ import annotations

from typing import Any

from capabilities.chat.intent import ChatContext, Intent
from capabilities.chat.slots import Slots
from capabilities.engines.runtime.evidence import Evidence
from capabilities.tournaments import store


def latest(context: ChatContext, slots: Slots, found: Evidence) -> str:
    def tournaments(**kw: Any) -> dict[str, Any] | None:
        rows = store.list_recent(context.database, kw["limit"])
        if not rows:
            return None
        tid, state, mode, created, _updated, _spec, result = rows[0]
        result = result or {}
        return {"id": str(tid), "state": state, "mode": mode, "created_at": created.isoformat(),
                "rounds": result.get("rounds"), "status": result.get("status"),
                "ranking": result.get("ranking")}  # fmt: skip

    r = found.call(tournaments, limit=1)
    if r is None:
        return "No tournament has been run: POST /v1/tournaments starts one (a job)."
    text = f"The newest tournament ({r['id']}, {r['mode']}) is {r['state']}"
    if r["ranking"]:
        groups = " > ".join(" = ".join(group) for group in r["ranking"])
        text += (
            f"; after {r['rounds']} rounds each ({r['status']}) the ranking is {groups} "
            "(entrants in one group are not told apart at the chosen error rates)"
        )
    return text + ". POST /v1/tournaments starts another; GET /v1/tournaments lists them."


INTENTS = (
    Intent(
        name="tournaments.results",
        capability="tournaments",
        description="the newest self-play tournament and its ranking (Multi-Agent Orchestration)",
        examples=(
            "who won the last tournament",
            "run a tournament between ppo-v3 and ppo-v4",
            "which bot variant wins a tournament",
            "start a self-play tournament",
            "rank my bot variants against each other",
            "tournament results",
            "show the standings of the latest tournament",
            "results of the latest tournament",
            "run a self-play tournament",
            "who is top of the standings",
            "which of my bots won the tournament",
            "leaderboard of the last self-play league",
            "start a round robin of my bots",
            "how did my bots place in the tournament",
            "which of our bot versions wins when they play each other",
        ),
        handler=latest,
        cues=(
            r"\btournament\w*\b",
            r"\b(self-?play|standings|ranking|bracket|head to head|each other)\b",
        ),
        keyword=r"\btourn(ament|ey)\w*\b|\bhead to head\b|\bround robin\b",
    ),
)
