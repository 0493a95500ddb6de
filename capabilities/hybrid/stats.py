"""What the hybrid's interventions did: override rates, and the outcome of each override
against the RL action's counterfactual once the round has ended.

A sidebet's outcome is known from the round's rug tick alone, so overrides that placed
or withheld a sidebet are scored exactly: the SOL the override gained over what the RL
action would have made. Overrides of position actions need the path after the decision
and are counted, not scored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from game.rules import is_known_mode, load_mode
from tools.postgres import Database

_SUMMARY_SQL = """
SELECT mode, bot_id, count(*) AS decisions,
       count(*) FILTER (WHERE critical) AS critical,
       count(*) FILTER (WHERE source = 'agent') AS overrides,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS latency_p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS latency_p95_ms
FROM hybrid_decisions
WHERE time >= now() - %(since)s
  AND (%(mode)s::text IS NULL OR mode = %(mode)s)
  AND (%(bot)s::text IS NULL OR bot_id = %(bot)s)
GROUP BY mode, bot_id ORDER BY mode, bot_id
"""
_OVERRIDES_SQL = """
SELECT d.mode, d.bot_id, d.tick, d.stake, d.rl_action, d.action, g.rug_tick
FROM hybrid_decisions d JOIN games g ON g.game_id = d.game_id
WHERE d.source = 'agent' AND g.rug_tick IS NOT NULL
  AND 'sidebet' IN (d.rl_action, d.action)
  AND d.time >= now() - %(since)s
  AND (%(mode)s::text IS NULL OR d.mode = %(mode)s)
  AND (%(bot)s::text IS NULL OR d.bot_id = %(bot)s)
"""


def sidebet_pnl(mode: str, tick: int, stake: float, rug_tick: int) -> float:
    """SOL a sidebet placed at `tick` made, given where the round rugged."""
    rules = load_mode(mode)
    won = rug_tick <= rules.sidebet_last_winning_tick(tick)
    return stake * rules.sidebet_profit_multiple if won else -stake


def override_gain(mode: str, tick: int, stake: float, rl: str, action: str, rug: int) -> float:
    """What the override made minus what the RL action would have made, SOL."""
    bet = sidebet_pnl(mode, tick, stake, rug)
    return -bet if rl == "sidebet" else bet if action == "sidebet" else 0.0


def hybrid_stats(
    database: Database, *, mode: str | None, bot_id: str | None, since: timedelta
) -> list[dict[str, Any]]:
    params = {"mode": mode, "bot": bot_id, "since": since}
    with database.connection() as conn:
        summary = conn.execute(_SUMMARY_SQL, params).fetchall()
        overrides = conn.execute(_OVERRIDES_SQL, params).fetchall()
    scored: dict[tuple[str, str], list[float]] = {}
    for m, bot, tick, stake, rl, action, rug in overrides:
        if is_known_mode(m):
            scored.setdefault((m, bot), []).append(override_gain(m, tick, stake, rl, action, rug))
    out = []
    for m, bot, decisions, critical, n_over, p50, p95 in summary:
        gains = scored.get((m, bot), [])
        out.append(
            {
                "mode": m,
                "bot_id": bot,
                "decisions": decisions,
                "critical": critical,
                "overrides": n_over,
                "override_rate": n_over / decisions if decisions else 0.0,
                "latency_p50_ms": p50,
                "latency_p95_ms": p95,
                "overrides_scored": len(gains),
                "override_gain_sol": sum(gains),
                "override_wins": sum(1 for g in gains if g > 0),
            }
        )
    return out
