"""`opponent_profile`: what the opponent model knows of a player (capability 4).

Reads the profile the last `opponents.fit` stored (migration 0080) with the live
counters the consumer keeps, by player id or username. Only stored figures come back,
so an agent's narrative can quote nothing else.
"""

from __future__ import annotations

from typing import Any

from smolagents import Tool

from tools.agent_tools.analytics import PLAYER
from tools.agent_tools.base import check_identifier, to_json
from tools.postgres import Database

_SQL = """
SELECT p.player_id, coalesce(pl.username, p.username), coalesce(pl.level, p.level),
       p.archetype, p.archetype_p, p.rounds_played, p.trades, p.pnl, p.profile, p.fitted_at,
       l.trades, l.rounds, l.last_trade_at
FROM opponent_profiles p
LEFT JOIN players pl ON pl.player_id = p.player_id
LEFT JOIN opponent_live l ON l.player_id = p.player_id
WHERE p.player_id = %(q)s OR lower(coalesce(pl.username, p.username)) = lower(%(q)s)
ORDER BY p.player_id = %(q)s DESC, p.rounds_played DESC
LIMIT 1
"""


class OpponentProfileTool(Tool):
    name = "opponent_profile"
    description = (
        "A player's behaviour profile from the opponent model, by player id or username: "
        "archetype (e.g. 'presale buyer, exits ~1.60x') with its membership probability or "
        "'too little data', rounds played, trades, realized PnL with a 95 % interval of "
        "its per-round mean and recent form, figures (entry tick, exit multiple, hold "
        "ticks, stake, sidebets per round, ...) each with its observation count n and "
        "interval, the next-action model's accuracy for the player, and live counters. "
        'Returns JSON {"found": bool, ...}.'
    )
    inputs = {
        "player": {"type": "string", "description": "A player id (did:privy:...) or username."}
    }
    output_type = "string"

    def __init__(self, database: Database) -> None:
        super().__init__()
        self._database = database
        self.is_initialized = True

    def forward(self, player: str) -> str:
        key = check_identifier(self.name, "player", player, PLAYER)
        with self._database.connection() as conn:
            row = conn.execute(_SQL, {"q": key}).fetchone()
        if row is None:
            return to_json({"found": False, "hint": "no profile: unknown player, or no fit yet"})
        out: dict[str, Any] = {
            "found": True,
            "player_id": row[0],
            "username": row[1],
            "level": row[2],
            "archetype": {"name": row[3], "probability": row[4]},
            "rounds_played": row[5],
            "trades": row[6],
            "pnl": row[7],
            "profile": row[8],
            "fitted_at": row[9],
            "live": None
            if row[10] is None
            else {"trades": row[10], "rounds": row[11], "last_trade_at": row[12]},
        }
        return to_json(out)
