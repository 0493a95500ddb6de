"""Strategy Coach (capability 1): the value and risk of each action in a live state,
the recommended action and strategy, and the evidence behind every number.

The numbers come from the expected-value engine over the mode's models; the prose is a
template over them (an agent may rewrite it through the runtime, quoting only these
numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from capabilities.models.ev import Decision, Position, evaluate, strategy_for
from capabilities.models.registry import ModelSet
from capabilities.state import GameState

Action = Literal["hold", "buy", "sell", "sidebet"]
KnowledgeLookup = Callable[[str, list[str], int], list[dict[str, Any]]]


class CoachRequest(GameState):
    stake: float | None = Field(
        None, gt=0, le=1000, description="SOL a buy or sidebet would stake (default: min bet)"
    )


class ActionEstimate(BaseModel):
    action: Action
    available: bool
    expected_value: float = Field(description="expected change of the book, SOL")
    expected_value_ci95: tuple[float, float]
    risk: float = Field(description="standard deviation of the outcome, SOL")
    probability_of_loss: float
    horizon_ticks: int
    note: str = ""
    source: str = "ev_engine"


class Evidence(BaseModel):
    source: str = Field(description="the tool or model that produced these figures")
    figures: dict[str, Any] = Field(default_factory=dict)
    chunks: list[dict[str, Any]] | None = None


class CoachAnswer(BaseModel):
    recommended_action: Action
    strategy: Literal["aggressive", "conservative", "exit_now", "stay_out", "sidebet"]
    decisive: bool = Field(description="the recommendation wins under every model scenario")
    margin: float = Field(description="expected value of the best minus the runner-up, SOL")
    actions: list[ActionEstimate]
    evidence: list[Evidence]
    model_version: str
    narrative: str


def position_of(state: GameState) -> Position:
    return Position(
        tick=state.tick,
        price=state.price,
        position_qty=state.position_qty,
        sidebet_start_tick=state.sidebet.start_tick if state.sidebet else None,
    )


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _sol(x: float) -> str:
    return f"{x + 0.0:.4g} SOL"  # + 0.0 turns -0.0 into 0.0


def narrate(state: GameState, decision: Decision, strategy: str, models: ModelSet) -> str:
    best = decision.value(decision.best)
    h, h_lo, h_hi = models.hazard.hazard(state.tick + 1)
    p_win = models.hazard.rug_within(state.tick, models.economics.sidebet_span)[0]
    base = "the fitted models" if models.source == "fitted" else "the mode's documented rules"
    lines = [
        f"Recommended: {decision.best} ({strategy}), expected value "
        f"{_sol(best.expected_value)}, from {base} ({models.version}).",
        f"Rug hazard next tick {_pct(h)} (95% CI {_pct(h_lo)} to {_pct(h_hi)}); a sidebet "
        f"placed now wins with probability {_pct(p_win)}.",
    ]
    if decision.runner_up:
        lines.append(
            f"Next best: {decision.runner_up}, {_sol(decision.margin)} behind; "
            + (
                "the choice holds under every model scenario."
                if decision.decisive
                else "the two are within the models' uncertainty."
            )
        )
    return " ".join(lines)


def advise(
    request: CoachRequest, models: ModelSet, knowledge: KnowledgeLookup | None = None
) -> CoachAnswer:
    """The deterministic coach answer for one state."""
    stake = request.stake or models.economics.min_bet
    decision = evaluate(position_of(request), models.hazard, models.price, models.economics, stake)
    strategy = strategy_for(decision, position_of(request))
    h, h_lo, h_hi = models.hazard.hazard(request.tick + 1)
    p, p_lo, p_hi = models.hazard.rug_within(request.tick, models.economics.sidebet_span)
    evidence = [
        Evidence(
            source="rug_hazard_model",
            figures={
                "hazard_next_tick": h,
                "hazard_ci95": [h_lo, h_hi],
                "sidebet_win_probability": p,
                "sidebet_win_probability_ci95": [p_lo, p_hi],
                **(models.hazard_model.summary() if models.hazard_model else {}),
            },
        ),
        Evidence(
            source="price_model",
            figures={
                "drift_per_tick": models.price.drift_at(request.price)[0],
                "volatility_per_tick": models.price.volatility(request.price),
                **(models.price_model.summary() if models.price_model else {}),
            },
        ),
    ]
    if knowledge is not None:
        query = f"{decision.best} {strategy} sidebet window rug hazard expected value"
        chunks = knowledge(query, ["rugs_protocol", "rl_design"], 3)
        evidence.append(Evidence(source="knowledge_search", chunks=chunks))
    actions = [
        ActionEstimate(
            action=v.action,  # type: ignore[arg-type]
            available=v.available,
            expected_value=v.expected_value,
            expected_value_ci95=(v.ev_low, v.ev_high),
            risk=v.risk,
            probability_of_loss=v.probability_of_loss,
            horizon_ticks=v.horizon_ticks,
            note=v.note,
        )
        for v in decision.values
    ]
    return CoachAnswer(
        recommended_action=decision.best,  # type: ignore[arg-type]
        strategy=strategy,  # type: ignore[arg-type]
        decisive=decision.decisive,
        margin=decision.margin,
        actions=actions,
        evidence=evidence,
        model_version=models.version,
        narrative=narrate(request, decision, strategy, models),
    )
