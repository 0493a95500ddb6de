"""The Game Analyst and the decision log: what a decision cost, why a bot bet or lost,
what drives a bot's decisions, and the hybrid policy's interventions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from capabilities.analyst.explain import compute as explain_compute
from capabilities.analyst.explain import gather as explain_gather
from capabilities.analyst.models import ExplainRequest
from capabilities.analyst.store import load_surrogate
from capabilities.chat.intent import ChatContext, Intent, mode_of, need
from capabilities.chat.slots import Slots, window_text
from capabilities.chat.text import pct, sol
from capabilities.chat.why import BOT_Q, why
from capabilities.coach.capability import position_of
from capabilities.engines.runtime.evidence import Evidence
from capabilities.engines.state import GameState
from capabilities.hybrid.policy import HybridInput, Thresholds, decide
from capabilities.hybrid.stats import hybrid_stats

_ACTION_Q = "Which action? (hold, buy, sell or sidebet)"
_TICK_Q = "At which tick? (e.g. 'at tick 200')"


def _state(context: ChatContext, slots: Slots) -> GameState:
    tick = need(slots, "tick", _TICK_Q)
    return GameState(
        mode=mode_of(context, slots),
        tick=min(tick, 5000),
        price=slots.price or 1.0,
        position_qty=1.0 if slots.action == "sell" else 0.0,
    )


def explain(context: ChatContext, slots: Slots, found: Evidence) -> str:
    action = need(slots, "action", _ACTION_Q)
    request = ExplainRequest(state=_state(context, slots), action=action, stake=slots.stake)
    models = context.model_set(request.state.mode)

    def analyst_explain(**_: Any) -> dict[str, Any]:
        scratch = Evidence()
        decision = explain_gather(request, scratch, models, None)
        return explain_compute(request, scratch, decision, models).model_dump(
            mode="json", exclude={"evidence", "sources", "run_id"})  # fmt: skip

    r = found.call(analyst_explain, **request.model_dump(mode="json", exclude_none=True))
    return r["narrative"] + (
        " The choice of the best action holds under every model scenario."
        if r["decisive"] else " The best action is within the models' uncertainty."
    )  # fmt: skip


def surrogate(context: ChatContext, slots: Slots, found: Evidence) -> str:
    bot = need(slots, "bot_id", BOT_Q)

    def bot_surrogate(**kw: Any) -> dict[str, Any] | None:
        stored = load_surrogate(context.database, kw["bot_id"])
        if stored is None:
            return None
        version, model = stored
        return {"version": version, "features": list(model.feature_names),
                "holdout_agreement": model.holdout_agreement}  # fmt: skip

    r = found.call(bot_surrogate, bot_id=bot)
    if r is None:
        return (
            f"No surrogate has been fitted for bot {bot}: POST /v1/analyst/fit with its "
            "logged decisions, then ask again."
        )
    return (
        f"Bot {bot}'s surrogate (version {r['version']}) reproduces its decisions with a "
        f"held-out agreement of {pct(r['holdout_agreement'])}, reading "
        f"{len(r['features'])} features: {', '.join(r['features'][:10])}."
    )


def hybrid_decide(context: ChatContext, slots: Slots, found: Evidence) -> str:
    state = _state(context, slots)
    rl_action = slots.action or "sidebet"
    models = context.model_set(state.mode)
    item = HybridInput(position=position_of(state), rl_action=rl_action, stake=slots.stake)

    def hybrid_policy(**_: Any) -> dict[str, Any]:
        d = decide(item, models, Thresholds())
        return {"action": d.action, "source": d.source, "critical": d.critical,
                "reason": d.reason, "confidence": d.confidence,
                "expected_loss": d.expected_loss, "best_action": d.best_action,
                "model_version": models.version}  # fmt: skip

    r = found.call(hybrid_policy, mode=state.mode, tick=state.tick, price=state.price,
                   rl_action=rl_action)  # fmt: skip
    verdict = (
        f"overrides it with {r['action']}" if r["source"] == "agent" else "keeps it"
    )  # fmt: skip
    return (
        f"With the RL action {rl_action} at tick {state.tick} ({state.price:g}x), the hybrid "
        f"{verdict}: {r['reason']} (confidence {r['confidence']:.2f}, the RL action's "
        f"expected loss {sol(r['expected_loss'])}, best action {r['best_action']})."
    )


def bot_stats(context: ChatContext, slots: Slots, found: Evidence) -> str:
    hours = slots.since_hours or 24.0

    def hybrid_decision_stats(**kw: Any) -> list[dict[str, Any]]:
        return hybrid_stats(context.database, mode=kw["mode"], bot_id=kw["bot_id"],
                            since=timedelta(hours=kw["since_hours"]))  # fmt: skip

    rows = found.call(hybrid_decision_stats, mode=slots.mode, bot_id=slots.bot_id,
                      since_hours=hours)  # fmt: skip
    span = window_text(slots) if slots.since_hours else "the last 24 hours"
    who = f"bot {slots.bot_id}" if slots.bot_id else "any bot"
    if not rows:
        return f"No decisions of {who} are logged in {span}."
    parts = [
        f"{r['bot_id']} ({r['mode']}): {r['decisions']} decisions, {r['overrides']} overridden "
        f"({pct(r['override_rate'])}); scored overrides gained {sol(r['override_gain_sol'])} "
        f"over the RL actions ({r['override_wins']} of {r['overrides_scored']} helped)"
        for r in rows[:5]
    ]
    return f"In {span}: " + "; ".join(parts) + "."


INTENTS = (
    Intent(
        name="analyst.explain",
        capability="analyst",
        description="what a decision cost against the best action (Game Analyst)",
        examples=(
            "was selling at tick 200 at 2x a good move?",
            "what did buying at tick 50 cost me",
            "explain my decision to hold at tick 120",
            "was betting at tick 30 a mistake",
            "how much EV did I lose by holding at 3x",
            "rate my sidebet at tick 90",
            "was that sell a good decision",
            "was selling at tick 150 at 2x a good decision",
            "how much did my hold at tick 240 cost",
            "rate my decision to buy at tick 15",
            "was my sidebet at tick 300 a mistake",
            "how far from the best action was selling at 1.4x at tick 90",
            "grade my sell at tick 110",
            "was holding at 3x on tick 350 smart",
            "what did betting at tick 420 cost compared with the best move",
            "evaluate my exit at 2.4x on tick 160",
            "review my choice to buy at tick 35",
            "did I leave money on the table by holding to 4x",
            "in hindsight, was my sell at 1.7x right",
            "assess the sell I made at tick 275",
            "was it the wrong call to bet at tick 60",
        ),
        handler=explain,
        cues=(
            # a decision of the past is reviewed ("did I ... selling", "I sold at"); the
            # coach advises on the present
            r"\b(was|were) (it|that|my|selling|buying|holding|betting)\b"
            r"|\bdid i\b|\bi (sold|held|bought|waited)\b",
            r"\b(mistake|smart|good move|bad|cost me|rate my|grade|judge)\b"
            r"|\b(evaluate|review|assess|rate|grade|judge)\b.*\b(my|the|that)\b"
            r"|\b(hindsight|on the table|(right|wrong|good|bad) call)\b",
            # a decision named as a thing done: "my sell at 2x", "my decision to hold"
            r"\bmy (sell|exit|buy|hold|sidebet|bet|entry|decision|choice)\b"
            r"|\bthe (sell|exit|buy|hold|sidebet|bet) i\b",
        ),
    ),
    Intent(
        name="analyst.why",
        capability="analyst",
        description="why a bot bet, sold or lost in a round (decision log, round data, analyst)",
        examples=(
            "why did my bot bet in round 20250101-0123456789abcdef?",
            "why did the bot place a sidebet there",
            "why did bot ppo-v3 sell in that round",
            "what made my bot hold in round 20250101-0123456789abcdef",
            "explain my bot's decisions in the last round",
            "why did the hybrid override my bot",
            "why did my bot lose?",
            "why did ppo-v3 lose round 20250101-0123456789abcdef",
            "what went wrong in my last round",
            "why did we lose money in that game",
            "my bot lost again, why",
            "what caused the loss in round 20250101-0123456789abcdef",
            "why did my bot lose round 20250202-00112233445566ff",
            "why did ppo-v2 sell in 20250202-00112233445566ff",
            "explain why my bot placed a sidebet at tick 90",
            "why did my bot buy so late",
            "what went wrong for my bot last round",
            "why did ppo-v2 hold until the rug in 20250202-00112233445566ff",
            "why is my bot losing money",
            "reason my bot bet in round 20250202-00112233445566ff",
        ),
        handler=why,
        cues=(
            r"\bwhy did\b|\bhappened to (my|our|the)?\s*(bot|agent|policy|ppo|dqn)",
            r"\b(lose|lost|loss|went wrong)\b",
        ),
    ),
    Intent(
        name="analyst.surrogate",
        capability="analyst",
        description="what drives a bot's decisions (its fitted surrogate)",
        examples=(
            "what drives my bot's decisions",
            "which features does bot ppo-v3 rely on",
            "what does my policy look at",
            "how well does the surrogate match my bot",
            "what is my bot's decision rule",
            "what features does my bot pay attention to",
            "which inputs matter most to my policy",
            "explain my bot's policy in simple rules",
            "which features does my bot rely on",
            "what does ppo-v2 pay attention to",
            "show my bot's decision rules",
            "feature importances of my policy",
            "what inputs drive my bot's actions",
            "summarize my bot's policy as rules",
            "how does my bot decide to sell",
            "explain my bot's strategy",
            "what triggers my bot to sell",
            "what makes ppo-v2 place a sidebet in general",
            "what is the decision tree behind my bot",
            "when does my bot usually decide to buy",
            "what conditions make my policy cash out",
        ),
        handler=surrogate,
        avoids=("game_id",),  # a named round asks why it acted there
        keyword=r"\bsurrogate\b",
        cues=(
            r"\b(features?|rel(y|ies) on|look at|pay attention|surrogate|decision rule)\b",
            r"\bwhat drives\b|\bwhat (triggers|makes|gets|causes)\b(?!.*\b(round|game)\b)"
            r"|\b(decision tree|in general|generally|usually|tends? to)\b",
        ),
    ),
    Intent(
        name="hybrid.decide",
        capability="hybrid",
        description="whether the hybrid policy would override an RL action",
        examples=(
            "would the hybrid override a sidebet at tick 250?",
            "should the agent overrule the RL bet at tick 100",
            "does the hybrid keep a hold at tick 40 at 1.2x",
            "would the hybrid policy block my bot's bet",
            "is this a critical moment for an override at tick 300",
            "would the hybrid override a sell at tick 60",
            "does the hybrid policy allow a sidebet at tick 300",
            "would the rule layer block my bot's buy at tick 20",
            "if the RL action is hold at tick 250, what does the hybrid do",
            "will the hybrid veto a bet at tick 180",
            "does the hybrid let the RL policy sell at 1.1x",
            "hybrid override for a buy at tick 400",
            "would the safety rules change my bot's sidebet at tick 100",
        ),
        handler=hybrid_decide,
        cues=(
            r"\bhybrid\b",
            r"\b(override|overrule|block|veto|step in|safety (layer|net|rules?))\b",
        ),
    ),
    Intent(
        name="hybrid.stats",
        capability="hybrid",
        description="how a bot did: decisions, overrides and their gains",
        examples=(
            "how did ppo-v3 do today?",
            "how is my bot doing",
            "how often does the hybrid override",
            "override rate of bot ppo-v3 this week",
            "did the overrides help my bot",
            "how many decisions did my bot make today",
            "performance of my bot in the last 24 hours",
            "how did ppo-v2 do this week",
            "how is my bot doing today",
            "pnl of ppo-v2 over the last 200 rounds",
            "how many overrides did the hybrid make for ppo-v2",
            "what did the hybrid's overrides gain this week",
            "is ppo-v2 profitable lately",
            "my bot's results since yesterday",
            "how much did my bot make or lose today",
            "how much did the hybrid's interventions earn this week",
            "win/loss record of ppo-v2 over the last day",
            "summary of my bot's results this week",
            "how has my bot been performing recently",
        ),
        handler=bot_stats,
        cues=(
            r"\bhow (did|is|was) .* (do|doing|perform\w*)\b",
            r"\b(override rate|overrides|performance|performing|doing)\b"
            r"|\b(override|intervention)s? (stats|count)\b"
            r"|\b(interventions|summary|record|win/loss|wins and losses)\b"
            r"|\bmaking (money|a profit)\b|\b(stepped in|steps? in|safety (layer|net))\b",
        ),
    ),
)
