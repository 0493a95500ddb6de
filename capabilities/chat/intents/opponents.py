"""Questions about a player answered from the opponent model's stored profile (the fit
behind POST /v1/opponents/fit): archetype with its probability, rounds played, entry
tick, exit multiple, realized PnL with its interval, sidebet habits. A player with no
profile gets their recorded trades, and the answer says why there is no profile (no fit
yet, or too few actions). "What will X do" at a named tick (and price) adds the fitted
model's next-action probabilities there (POST /v1/opponents/predict's)."""

from __future__ import annotations

import json
from typing import Any

from capabilities.chat.intent import ChatContext, Intent, mode_of, need
from capabilities.chat.intents.data import PLAYER_Q
from capabilities.chat.intents.data import player as recorded_trades
from capabilities.chat.slots import Slots
from capabilities.chat.text import num, pct, sol
from capabilities.engines.runtime.evidence import Evidence
from capabilities.opponents.models import OpponentPredictItem, OpponentState
from capabilities.opponents.service import model_cache, predict
from tools.agent_tools.opponent_tool import OpponentProfileTool

FIT_HINT = "run POST /v1/opponents/fit to build the profiles"
HORIZON = 10  # ticks ahead a next-action prediction covers (the predict endpoint's default)


def _figure(profile: dict[str, Any], name: str, unit: str = "") -> str:
    f = profile.get("figures", {}).get(name) or {}
    if f.get("value") is None:
        return "n/a (no observations)"
    ci = f.get("ci95")
    interval = f", 95% CI {num(ci[0])}-{num(ci[1])}{unit}" if ci and None not in ci else ""
    return f"{num(f['value'])}{unit} (n={f.get('n', 0)}{interval})"


def _fitted(context: ChatContext) -> bool:
    with context.database.connection() as conn:
        return conn.execute("SELECT 1 FROM opponent_models LIMIT 1").fetchone() is not None


def _profile_text(r: dict[str, Any]) -> str:
    p = r["profile"]
    arch = r["archetype"]
    share = "too little data" if arch["probability"] is None else pct(arch["probability"])
    pnl = p.get("pnl", {})
    lo, hi = pnl.get("per_round_ci95") or (None, None)
    return (
        f"Player {r['username'] or r['player_id']} (id {r['player_id']}, level "
        f"{num(r['level'])}) is a '{arch['name']}' ({share}): {r['rounds_played']} rounds "
        f"played of {p.get('rounds_seen', 'n/a')} seen, {r['trades']} trades. Median entry "
        f"tick {_figure(p, 'entry_tick')}; median exit multiple {_figure(p, 'exit_multiple', 'x')}"
        f"; realized PnL {sol(r['pnl'])} (per round 95% CI {num(lo)} to {num(hi)} SOL, recent "
        f"form {num(pnl.get('recent_form'))}); sidebets: {p.get('sidebets', 0)} placed, "
        f"{_figure(p, 'sidebets_per_round')} per round, first at tick "
        f"{_figure(p, 'sidebet_first_tick')}. Profile fitted {r['fitted_at']}."
    )


def _lookup(context: ChatContext, who: str, found: Evidence) -> dict[str, Any]:
    tool = OpponentProfileTool(context.database)
    return json.loads(found.call(tool.forward, as_name=tool.name, player=who))


def profile(context: ChatContext, slots: Slots, found: Evidence) -> str:
    who = need(slots, "player", PLAYER_Q)
    r = _lookup(context, who, found)
    if r["found"]:
        return _profile_text(r)
    trades = recorded_trades(context, slots, found)
    if not _fitted(context):
        return f"{trades} No opponent profiles are stored yet: {FIT_HINT}."
    if trades.startswith("No player"):
        return trades
    return f"{trades} The last fit has no profile for them (too few actions)."


def next_move(context: ChatContext, slots: Slots, found: Evidence) -> str:
    who = need(slots, "player", PLAYER_Q)
    r = _lookup(context, who, found)
    if not r["found"]:
        if not _fitted(context):
            return f"No opponent profiles are stored yet, so I cannot tell: {FIT_HINT}."
        return f"No profile for player {who!r}: unknown player, or too few actions in the last fit."
    usual = f"What they usually do: {_profile_text(r)}"
    fitted = model_cache(context.database).refresh() if slots.tick is not None else None
    if fitted is None:  # no state named: what they usually do is the answer
        return (
            f"{usual} Name a tick (and a price) for the probabilities of their next action "
            "there (POST /v1/opponents/predict takes the full state)."
        )
    state = OpponentState(mode=mode_of(context, slots), tick=slots.tick, price=slots.price or 1.0)

    def opponent_next_action(**kw: Any) -> dict[str, Any]:
        item = OpponentPredictItem(player_id=kw["player_id"], state=OpponentState(**kw["state"]),
                                   horizon_ticks=kw["horizon_ticks"])  # fmt: skip
        [prediction] = predict(fitted, [item])
        return {"model_id": str(fitted.model_id), **prediction}

    p = found.call(opponent_next_action, player_id=r["player_id"],
                   state=state.model_dump(mode="json"), horizon_ticks=HORIZON)  # fmt: skip
    odds = p["probabilities"]
    return (
        f"At tick {state.tick} ({state.price:g}x, {state.mode}) within the next {HORIZON} ticks, "
        f"player {r['username'] or r['player_id']} buys with probability {pct(odds['buy'])}, "
        f"sells {pct(odds['sell'])}, places a sidebet {pct(odds['sidebet'])}, does nothing "
        f"{pct(odds['none'])}; if they act, most likely {p['likely_action']} (from their "
        f"{p['basis']} history, model {p['model_id']}). {usual}"
    )


INTENTS = (
    Intent(
        name="opponents.profile",
        capability="opponents",
        description="who a player is: their profile (archetype, habits, PnL) and trades",
        examples=(
            "who is player Alice?",
            "tell me about player whale42",
            "what does player bob usually do",
            "show the trades of user degen",
            "how active is trader Zed",
            "who is this opponent",
            "tell me about user moonboy",
            "look up player 4f2a",
            "what level is player satoshi",
            "is this player a big trader",
            "who is that username",
            "profile of player whale42",
            "which archetype is player bob",
            "what kind of trader is this opponent",
            "who is player kappa",
            "tell me about trader kappa",
            "profile of user kappa",
            "what type of player is kappa",
            "stats of player kappa",
            "how much has user kappa traded",
            "is player kappa a whale",
            "trade history of player kappa",
        ),
        handler=profile,
        expects="player",
        cues=(
            r"\b(player|user|username|trader)\b",
            r"\b(traded|trades|trading|history|level|active|usually|profile|doing|lately|pnl)\b",
            r"\bwho('s| is)\b",
        ),
    ),
    Intent(
        name="opponents.ask",
        capability="opponents",
        description="what a player will do next (Opponent Modeling)",
        examples=(
            "what will player Alice do next",
            "predict the next move of this player",
            "will this opponent sell soon",
            "what is trader bob going to do",
            "will player Alice buy or sell next",
            "what will player kappa do next",
            "predict trader kappa's next action",
            "is player kappa about to sell",
            "will player kappa buy soon",
            "what is trader kappa likely to do at 2x",
            "forecast opponent kappa's move",
            "next move of player kappa",
            "is user kappa going to exit",
        ),
        handler=next_move,
        expects="player",
        cues=(
            r"\b(predict\w*|next move|do next|archetype|going to do|guess|about to)\b"
            r"|\bwhat (will|would|does) (player |trader )?\S+ do\b",
            r"\b(player|opponent|trader)\b",
        ),
    ),
)
