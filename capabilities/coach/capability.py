"""Strategy Coach (capability 1): the value and risk of each action in a live state,
the recommended action and strategy, and the evidence behind every number.

The numbers come from the expected-value engine over the mode's models, gathered as
named evidence (`rug_hazard_model`, `price_model`, `ev_engine`, `knowledge_search`);
`narrative` is a template over them, and with a language model configured the runtime
adds a `summary` that may quote only those numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from capabilities.coach.models import ActionEstimate, CoachAnswer, CoachRequest, Evidence
from capabilities.engines.decision_capability import decision_capability
from capabilities.engines.game_models.ev import Decision, Position, evaluate, strategy_for
from capabilities.engines.game_models.registry import ModelSet
from capabilities.engines.passages import select_passages
from capabilities.engines.runtime import Capability
from capabilities.engines.runtime import Evidence as Gathered
from capabilities.engines.state import GameState
from tools.errors import BackendUnavailable

if TYPE_CHECKING:
    from smolagents import Tool

log = logging.getLogger(__name__)
KnowledgeLookup = Callable[[str, list[str], int], list[dict[str, Any]]]
PASSAGES = 3  # knowledge passages an answer attaches
PASSAGE_POOL = 5  # searched for each: some may be withheld (capabilities.engines.passages)


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
    base = {
        "fitted": "the fitted models",
        "pooled": "models pooled across modes (few rounds of this one)",
    }.get(models.source, "the mode's documented rules")
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


def gather(
    request: CoachRequest, found: Gathered, models: ModelSet, knowledge: KnowledgeLookup | None
) -> Decision:
    """Evaluate the state and keep every figure as named evidence; returns the decision."""
    stake = request.stake or models.economics.min_bet
    position = position_of(request)
    wait = models.wait_values(request.tick) if request.one_sidebet_per_round else None
    decision = evaluate(position, models.hazard, models.price, models.economics, stake, wait)
    h, h_lo, h_hi = models.hazard.hazard(request.tick + 1)
    p, p_lo, p_hi = models.hazard.rug_within(request.tick, models.economics.sidebet_span)
    found.add(
        "rug_hazard_model",
        {
            "hazard_next_tick": h,
            "hazard_ci95": [h_lo, h_hi],
            "sidebet_win_probability": p,
            "sidebet_win_probability_ci95": [p_lo, p_hi],
            **(models.hazard_model.summary() if models.hazard_model else {}),
        },
    )
    found.add(
        "price_model",
        {
            "drift_per_tick": models.price.drift_at(request.price)[0],
            "volatility_per_tick": models.price.volatility(request.price),
            **(models.price_model.summary() if models.price_model else {}),
        },
    )
    found.add(
        "ev_engine",
        {v.action: {"expected_value": v.expected_value, "ci95": [v.ev_low, v.ev_high]}
         for v in decision.values},
    )  # fmt: skip
    if knowledge is not None:
        query = f"{decision.best} sidebet window rug hazard expected value strategy"
        try:
            hits = found.call(knowledge, as_name="knowledge_search", query=query,
                              collections=["rugs_protocol", "rl_design"],
                              top_k=PASSAGES * PASSAGE_POOL)  # fmt: skip
        except BackendUnavailable:  # recorded by `call`; the numbers do not need it
            log.warning("coach answered without knowledge-base references", exc_info=True)
        else:  # passages written for rules this mode's models contradict are not quoted
            kept, withheld = select_passages(hits, models, PASSAGES)
            found.add("knowledge_search", kept)
            if withheld:
                found.add("knowledge_withheld", withheld)
    return decision


def compute(
    request: CoachRequest, found: Gathered, decision: Decision, models: ModelSet
) -> CoachAnswer:
    strategy = strategy_for(decision, position_of(request))
    detail = [
        Evidence(source=name, figures=found[name]) for name in ("rug_hazard_model", "price_model")
    ]
    if "knowledge_search" in found:
        withheld = found.items.get("knowledge_withheld")
        detail.append(
            Evidence(
                source="knowledge_search",
                chunks=found["knowledge_search"],
                figures={"withheld": withheld} if withheld else {},
            )
        )
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
        model_evidence=detail,
        model_version=models.version,
        narrative=narrate(request, decision, strategy, models),
    )


def coach_capability(
    models: ModelSet, knowledge: KnowledgeLookup | None = None, tools: Sequence[Tool] = ()
) -> Capability[CoachRequest, CoachAnswer]:
    """The coach for one request, over the mode's current models; `tools` are what its
    agent may call for more evidence (knowledge search, analytics) with a model."""
    return decision_capability(
        name="coach.strategy",
        response_model=CoachAnswer,
        gather=lambda request, found: gather(request, found, models, knowledge),
        compute=lambda request, found, decision: compute(request, found, decision, models),
        instructions=(
            "Explain the recommended action and strategy to the bot's developer in three or "
            "four sentences, quoting the expected values, the rug hazard and the sidebet win "
            "probability from the evidence. Say when the choice is within the models' "
            "uncertainty (decisive is false)."
        ),
        tools=tools,
    )


def advise(
    request: CoachRequest, models: ModelSet, knowledge: KnowledgeLookup | None = None
) -> CoachAnswer:
    """The deterministic coach answer for one state (no runtime, no language model)."""
    found = Gathered()
    decision = gather(request, found, models, knowledge)
    return compute(request, found, decision, models).model_copy(update={"evidence": list(found)})
