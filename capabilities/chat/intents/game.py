"""Live-state questions: the Strategy Coach (sell now? bet now?) and the fitted game
models (rug chance per tick, price dynamics)."""

from __future__ import annotations

from typing import Any

from capabilities.chat.intent import ChatContext, Intent, mode_of, need
from capabilities.chat.slots import FLAT_CUE, Slots
from capabilities.chat.text import pct, sol
from capabilities.coach.capability import advise
from capabilities.coach.models import CoachAnswer, CoachRequest
from capabilities.engines.runtime.evidence import Evidence

_TICK_Q = "At which tick? (e.g. 'at tick 230')"
_PRICE_Q = "At which price multiple? (e.g. 'at 1.9x')"


def _coach(context: ChatContext, slots: Slots, found: Evidence, holding: bool) -> CoachAnswer:
    tick = need(slots, "tick", _TICK_Q)
    price = need(slots, "price", _PRICE_Q) if holding else (slots.price or 1.0)
    request = CoachRequest(
        mode=mode_of(context, slots),
        tick=min(tick, 5000),
        price=price,
        position_qty=1.0 if holding else 0.0,
        stake=slots.stake,
        one_sidebet_per_round=not holding,
    )
    models = context.model_set(request.mode)

    def coach_strategy(**_: Any) -> dict[str, Any]:
        answer = advise(request, models)
        return {
            "recommended_action": answer.recommended_action,
            "strategy": answer.strategy,
            "decisive": answer.decisive,
            "margin": answer.margin,
            "actions": {
                a.action: {"expected_value": a.expected_value, "ci95": list(a.expected_value_ci95),
                           "probability_of_loss": a.probability_of_loss, "available": a.available}
                for a in answer.actions
            },
            "model_version": answer.model_version,
            "narrative": answer.narrative,
        }  # fmt: skip

    found.call(coach_strategy, **request.model_dump(mode="json", exclude_none=True))
    return found["coach_strategy"]


def sell_now(context: ChatContext, slots: Slots, found: Evidence) -> str:
    result = _coach(context, slots, found, holding=True)
    sell = result["actions"]["sell"]["expected_value"]
    hold = result["actions"]["hold"]["expected_value"]
    verdict = "Sell now" if result["recommended_action"] == "sell" else "Do not sell yet"
    return (
        f"{verdict}: at tick {slots.tick} and {slots.price:g}x the coach recommends "
        f"{result['recommended_action']} ({result['strategy']}). Expected value of selling "
        f"{sol(sell)}, of holding {sol(hold)} per token; "
        + ("the choice is decisive under every model scenario. " if result["decisive"]
           else "the two are within the models' uncertainty. ")
        + result["narrative"]
    )  # fmt: skip


def bet_now(context: ChatContext, slots: Slots, found: Evidence) -> str:
    result = _coach(context, slots, found, holding=False)
    bet = result["actions"]["sidebet"]
    return (
        f"At tick {slots.tick} the coach recommends {result['recommended_action']} "
        f"({result['strategy']}): a sidebet's expected value is {sol(bet['expected_value'])} "
        f"(95% CI {sol(bet['ci95'][0])} to {sol(bet['ci95'][1])}), probability of loss "
        f"{pct(bet['probability_of_loss'])}. " + result["narrative"]
    )


def rug_chance(context: ChatContext, slots: Slots, found: Evidence) -> str:
    mode = mode_of(context, slots)
    models = context.model_set(mode)
    tick = slots.tick if slots.tick is not None else 0
    span = models.economics.sidebet_span

    def rug_hazard_model(**_: Any) -> dict[str, Any]:
        h, lo, hi = models.hazard.hazard(tick + 1)
        p, p_lo, p_hi = models.hazard.rug_within(tick, span)
        return {
            "mode": mode, "tick": tick, "hazard_next_tick": h, "hazard_ci95": [lo, hi],
            "rug_within_window": p, "rug_within_window_ci95": [p_lo, p_hi],
            "window_ticks": span, "model_version": models.version, "source": models.source,
            "rounds": models.rounds,
            **({"fit": models.hazard_model.summary()} if models.hazard_model else {}),
        }  # fmt: skip

    r = found.call(rug_hazard_model, mode=mode, tick=tick)
    base = (
        f"fitted on {r['rounds']} stored rounds" if r["source"] == "fitted"
        else "from the mode's documented rules (too few stored rounds to fit)"
    )  # fmt: skip
    return (
        f"In {mode}, the chance of a rug on tick {tick + 1} (alive at tick {tick}) is "
        f"{pct(r['hazard_next_tick'])} (95% CI {pct(r['hazard_ci95'][0])} to "
        f"{pct(r['hazard_ci95'][1])}); within the next {span} ticks (a sidebet's window) "
        f"{pct(r['rug_within_window'])}. Model {r['model_version']}, {base}."
    )


def price_dynamics(context: ChatContext, slots: Slots, found: Evidence) -> str:
    mode = mode_of(context, slots)
    models = context.model_set(mode)
    price = slots.price or 1.0

    def price_model(**_: Any) -> dict[str, Any]:
        drift = models.price.drift_at(price)
        return {
            "mode": mode, "price": price, "drift_per_tick": drift[0],
            "volatility_per_tick": models.price.volatility(price),
            "model_version": models.version,
            **({"fit": models.price_model.summary()} if models.price_model else {}),
        }  # fmt: skip

    r = found.call(price_model, mode=mode, price=price)
    return (
        f"In {mode} at {price:g}x the price model expects a drift of "
        f"{r['drift_per_tick']:.4g} per tick with a volatility of "
        f"{r['volatility_per_tick']:.4g} per tick (model {r['model_version']})."
    )


INTENTS = (
    Intent(
        name="coach.sell_now",
        capability="coach",
        description="whether to sell a position now (Strategy Coach)",
        examples=(
            "sell now at 1.9x on tick 230?",
            "should I sell at 2x on tick 150",
            "is it time to take profit at 3.5x",
            "should I exit my position at tick 80 at 1.4x",
            "cash out now or hold at 2.2x?",
            "hold or sell at tick 300 price 1.7",
            "I'm holding at 1.5x on tick 120, sell?",
            "would selling now at 4x be smart",
            "when should I sell my position",
            "should I take my profit now",
            "my position is at 2.6x, is now the moment to close it",
            "lock in profit or keep riding at 1.8x",
            "should my bot close its long at tick 210",
            "we're up 3x at tick 280, time to bail?",
            "is it better to hold on or get out now at 1.2x",
            "dump my tokens at 5x?",
            "sell at t=90, price 1.35?",
            "exit or wait, currently 2.9x",
        ),
        handler=sell_now,
        # advice on my own position: a player named asks about them, no position held
        # ("buy now at 1.1x?", "i have no position") asks whether to buy or bet
        avoids=("player", "flat"),
        cues=(
            r"\b(should|shall|do) i (sell|exit|dump|cash)|\bsell\?",
            r"\b(sell|dump|exit|get out|cash out|take profits?)\b",
        ),
    ),
    Intent(
        name="coach.bet_now",
        capability="coach",
        description="whether to place a sidebet or buy now (Strategy Coach)",
        examples=(
            "should I place a sidebet at tick 100?",
            "is a sidebet worth it at tick 250",
            "bet now on tick 40?",
            "what's the expected value of a sidebet at tick 200",
            "should I buy in at tick 10",
            "what's the best action at tick 60",
            "what strategy should I play at tick 180",
            "is it a good moment to enter the round at tick 5",
            "recommend an action for tick 320",
            "is a bet worth it right now",
            "should I open a position at tick 30",
            "place a side bet now? tick 140",
            "nothing open at tick 55, what should I do",
            "is entering the round at tick 20 a good idea",
            "should my bot buy in at tick 8",
            "sidebet yes or no at tick 260",
            "which action has the best expected value at tick 110",
            "is it worth a side bet at this tick, 175",
        ),
        handler=bet_now,
        avoids=("player",),
        cues=(
            r"\b(should|shall) i (bet|buy|enter|go in)|\b(bet|sidebet|side bet) now\b"
            r"|\b(buy|ape|get|jump|go) (now|in)\b",
            FLAT_CUE,  # "no position", "not in yet", "worth getting in"
            r"\b(best (move|action)|worth (it|betting|a bet)|recommend)\b",
        ),
    ),
    Intent(
        name="models.rug_chance",
        capability="models",
        description="the rug chance per tick (fitted hazard model)",
        examples=(
            "what is the rug chance per tick?",
            "how likely is a rug on the next tick",
            "what's the rug probability at tick 300",
            "rug hazard per tick in fast rug mode",
            "chance the round rugs in the next 40 ticks",
            "does the hazard rise with the tick",
            "how risky is it to stay in past tick 200",
            "what are the odds of a rug right now",
            "show me the hazard model",
            "probability of a rug at tick 250",
            "how dangerous does it get after tick 400",
            "chance the game crashes this tick",
            "survival odds to tick 300",
            "rug rate per tick in rising hazard",
            "how likely is the round to end on the next tick",
            "is the hazard constant or does it grow over the round",
            "P(rug) in the next 30 ticks from tick 120",
        ),
        handler=rug_chance,
        cues=(
            r"\b(chances?|odds|probability|prob|hazard|likely|likelihood)\b",
            r"\bper tick\b",
        ),
    ),
    Intent(
        name="models.price",
        capability="models",
        description="the price dynamics (drift and volatility per tick)",
        examples=(
            "how volatile is the price",
            "what's the price drift per tick at 2x",
            "how does the multiplier move tick to tick",
            "price model volatility in high volatility mode",
            "does the price tend to go up or down",
            "what is the expected price change per tick",
            "what is the volatility of the price per tick",
            "does the multiplier drift upward",
            "how much does the price move between ticks",
            "price dynamics in fast rug mode",
            "typical tick-to-tick return of the price",
            "how random is the price path",
            "what's the sigma of price changes in high volatility",
            "mean and spread of per-tick price moves",
        ),
        handler=price_dynamics,
        cues=(
            r"\b(volatil\w*|drift|swing\w*|fluctuat\w*)\b",
            r"\bprice (model|moves?|change)\b",
        ),
    ),
)
