""" "Why did my bot lose?" / "why did my bot bet in round X?": one answer joined from the
decision log (`hybrid_decisions`), the round's data (`games`) and the Game Analyst's
explanation of the decision that mattered.

The decision that matters is the round's last sidebet when one was placed (its outcome
is known exactly from the rug tick), else the last override, else the last decision.
"""

from __future__ import annotations

from typing import Any

from capabilities.analyst.explain import compute as explain_compute
from capabilities.analyst.explain import gather as explain_gather
from capabilities.analyst.models import ExplainRequest
from capabilities.chat.intent import ChatContext, need
from capabilities.chat.slots import Slots
from capabilities.chat.text import sol
from capabilities.engines.runtime.evidence import Evidence
from capabilities.engines.state import GameState
from capabilities.hybrid.stats import sidebet_pnl
from game.rules import available_modes, load_mode

BOT_Q = "Which bot? Name it (e.g. 'bot ppo-v3') or send bot_id with the message."
_DECISIONS = """
SELECT time, game_id, mode, tick, price, stake, rl_action, action, source, critical, reason,
       confidence, expected_loss, model_version
FROM hybrid_decisions
WHERE bot_id = %(bot)s AND game_id = %(game)s
ORDER BY time
LIMIT 500
"""
_LATEST_ROUND = """
SELECT game_id FROM hybrid_decisions
WHERE bot_id = %(bot)s AND game_id IS NOT NULL
ORDER BY time DESC LIMIT 1
"""
_ROUND = (
    "SELECT game_id, mode, rug_tick, peak_multiplier, final_price FROM games WHERE game_id = %s"
)
_KEYS = ("time", "game_id", "mode", "tick", "price", "stake", "rl_action", "action", "source",
         "critical", "reason", "confidence", "expected_loss", "model_version")  # fmt: skip


def _decision_log(context: ChatContext, bot: str, game_id: str | None) -> dict[str, Any]:
    with context.database.connection() as conn:
        if game_id is None:
            row = conn.execute(_LATEST_ROUND, {"bot": bot}).fetchone()
            game_id = row[0] if row else None
        rows = [] if game_id is None else conn.execute(
            _DECISIONS, {"bot": bot, "game": game_id}).fetchall()  # fmt: skip
    decisions = [dict(zip(_KEYS, r, strict=True)) for r in rows]
    for d in decisions:
        d["time"] = d["time"].isoformat()
    return {"bot_id": bot, "game_id": game_id, "decisions": decisions}


def _round(context: ChatContext, game_id: str) -> dict[str, Any] | None:
    with context.database.connection() as conn:
        row = conn.execute(_ROUND, (game_id,)).fetchone()
    keys = ("game_id", "mode", "rug_tick", "peak_multiplier", "final_price")
    return None if row is None else dict(zip(keys, row, strict=True))


def _key_decision(decisions: list[dict[str, Any]]) -> dict[str, Any]:
    for test in (
        lambda d: d["action"] == "sidebet",
        lambda d: d["source"] == "agent",
        lambda d: True,
    ):
        chosen = [d for d in decisions if test(d)]
        if chosen:
            return chosen[-1]
    raise ValueError("no decisions")


def _explain(context: ChatContext, decision: dict[str, Any]) -> dict[str, Any]:
    mode = decision["mode"]
    request = ExplainRequest(
        state=GameState(
            mode=mode,
            tick=decision["tick"],
            price=decision["price"],
            position_qty=1.0 if decision["action"] == "sell" else 0.0,
        ),
        action=decision["action"],
        stake=decision["stake"] or None,
    )
    models = context.model_set(mode)
    found = Evidence()
    explanation = explain_compute(request, found, explain_gather(request, found, models, None),
                                  models)  # fmt: skip
    return {
        "action": explanation.action,
        "expected_value": explanation.expected_value,
        "best_action": explanation.best_action,
        "best_expected_value": explanation.best_expected_value,
        "cost": explanation.cost,
        "cost_ci95": list(explanation.cost_ci95),
        "decisive": explanation.decisive,
        "model_version": explanation.model_version,
    }


def why(context: ChatContext, slots: Slots, found: Evidence) -> str:
    """The joined answer; every part is a named evidence item."""
    bot = need(slots, "bot_id", BOT_Q)

    def decision_log(**kw: Any) -> dict[str, Any]:
        return _decision_log(context, kw["bot_id"], kw["game_id"])

    log = found.call(decision_log, bot_id=bot, game_id=slots.game_id)
    game_id = log["game_id"]
    if not log["decisions"]:
        where = f" in round {game_id}" if game_id else ""
        return (
            f"No decisions of bot {bot}{where} are in the decision log: it records the calls "
            "to POST /v1/hybrid/decide that carry bot_id and the round's game_id."
        )

    def round_data(**kw: Any) -> dict[str, Any] | None:
        return _round(context, kw["game_id"])

    game = found.call(round_data, game_id=game_id)
    key = _key_decision(log["decisions"])
    mode = key["mode"] if key["mode"] in available_modes() else context.default_mode
    lines = [
        f"Round {game_id}: bot {bot} made {len(log['decisions'])} logged decision(s)."
        if game is None or game["rug_tick"] is None
        else f"Round {game_id} ({game['mode']}) rugged at tick {game['rug_tick']} after "
        f"peaking at {game['peak_multiplier']:.4g}x; bot {bot} made "
        f"{len(log['decisions'])} logged decision(s)."
    ]
    overridden = key["source"] == "agent"
    lines.append(
        f"The one that mattered: at tick {key['tick']} ({key['price']:.4g}x) it chose "
        f"{key['action']}"
        + (f", overriding the RL action {key['rl_action']} ({key['reason']}, confidence "
           f"{key['confidence']:.2f})" if overridden else f" as the RL policy proposed "
           f"({key['reason']})")
        + "."
    )  # fmt: skip
    outcome: dict[str, Any] = {}
    if (
        game is not None
        and game["rug_tick"] is not None
        and "sidebet" in (key["action"], key["rl_action"])
    ):
        rules = load_mode(mode)
        placed = key["action"] == "sidebet"
        pnl = sidebet_pnl(mode, key["tick"], key["stake"], game["rug_tick"])
        last = rules.sidebet_last_winning_tick(key["tick"])
        outcome = {"sidebet_placed": placed, "sidebet_pnl": pnl if placed else 0.0,
                   "counterfactual_pnl": 0.0 if placed else pnl, "window_last_tick": last,
                   "rug_tick": game["rug_tick"]}  # fmt: skip
        found.add("outcome", outcome)
        won = game["rug_tick"] <= last
        if placed:
            lines.append(
                f"The sidebet covered ticks up to {last}; the rug came at tick "
                f"{game['rug_tick']}, so it {'won' if won else 'lost'} {sol(abs(pnl))}."
            )
        else:
            lines.append(
                f"No sidebet was placed; one would have {'won' if won else 'lost'} "
                f"{sol(abs(pnl))} (rug at tick {game['rug_tick']}, window to tick {last})."
            )

    def analyst_explain(**_: Any) -> dict[str, Any]:
        return _explain(context, {**key, "mode": mode})

    ex = found.call(analyst_explain, mode=mode, tick=key["tick"], price=key["price"],
                    action=key["action"])  # fmt: skip
    if ex["cost"] > 0:
        lines.append(
            f"The analyst: {ex['action']} had an expected value of {sol(ex['expected_value'])}, "
            f"{sol(ex['cost'])} below the best action {ex['best_action']} "
            f"({sol(ex['best_expected_value'])}) at that state ({ex['model_version']})."
        )
    else:
        lines.append(
            f"The analyst: {ex['action']} was the best action at that state (expected value "
            f"{sol(ex['expected_value'])}, {ex['model_version']})"
            + (": the loss was the round's luck, not the decision." if outcome.get(
                "sidebet_pnl", 0) < 0 else ".")
        )  # fmt: skip
    return " ".join(lines)
