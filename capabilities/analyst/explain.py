"""Game Analyst (capability 3): what a bot's decision cost or gained against the best
action, which features drove it, and the smallest change of state that flips it.

The value side comes from the expected-value engine over the mode's models; the "why"
side from the bot's surrogate (`surrogate`), when one was fitted from its logged
decisions. Every figure is gathered as named evidence for the runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from capabilities.analyst.models import Change, Driver, ExplainRequest, Explanation
from capabilities.analyst.surrogate import Surrogate, attributions, counterfactual
from capabilities.coach.capability import position_of
from capabilities.engines.decision_capability import decision_capability
from capabilities.engines.game_models.ev import ACTIONS, Decision, evaluate
from capabilities.engines.game_models.registry import ModelSet
from capabilities.engines.runtime import Capability
from capabilities.engines.runtime import Evidence as Gathered
from capabilities.engines.state import action_name

if TYPE_CHECKING:
    from smolagents import Tool

# what a bot cannot change by acting differently: kept out of counterfactuals
FROZEN = frozenset({"active", "connected_players", "can_place"})


def _name(surrogate_class: int) -> str:
    """Surrogates are fitted on action indexes into ACTIONS (see `fit`)."""
    return ACTIONS[surrogate_class]


def gather(
    request: ExplainRequest, found: Gathered, models: ModelSet, surrogate: Surrogate | None
) -> Decision:
    action = action_name(request.action)
    stake = request.stake or models.economics.min_bet
    decision = evaluate(
        position_of(request.state), models.hazard, models.price, models.economics, stake
    )
    taken, best = decision.value(action), decision.value(decision.best)
    runs = [b - t for b, t in zip(best.scenarios, taken.scenarios, strict=True)]
    found.add(
        "ev_engine",
        {
            "action": action,
            "expected_value": taken.expected_value,
            "best_action": decision.best,
            "best_expected_value": best.expected_value,
            "cost": runs[0],
            "cost_ci95": [min(runs), max(runs)],
        },
    )
    if surrogate is not None and request.observation is not None:  # lengths checked by the view
        x = list(request.observation)
        cf = counterfactual(surrogate, x, frozen=FROZEN)
        found.add(
            "surrogate",
            {
                "predicted_action": _name(surrogate.predict(x)),
                "holdout_agreement": surrogate.holdout_agreement,
                "drivers": attributions(surrogate, x),
                "counterfactual": None
                if cf is None
                else {"action": _name(cf.action), "changes": cf.changes},
            },
        )
    return decision


def compute(
    request: ExplainRequest, found: Gathered, decision: Decision, models: ModelSet
) -> Explanation:
    ev = found["ev_engine"]
    sur: dict[str, Any] | None = found.items.get("surrogate")
    cf = sur["counterfactual"] if sur else None
    verdict = (
        "the best action"
        if ev["cost"] <= 0
        else f"{ev['cost']:.4g} SOL worse than {ev['best_action']}"
    )
    lines = [
        f"{ev['action']} had an expected value of {ev['expected_value']:.4g} SOL: {verdict} "
        f"({models.version}).",
    ]
    if sur:
        top = ", ".join(list(sur["drivers"])[:3]) or "none"
        lines.append(
            f"The bot's surrogate (held-out agreement {sur['holdout_agreement']:.0%}) predicts "
            f"{sur['predicted_action']}; its decision rests most on {top}."
        )
        if cf:
            moves = "; ".join(f"{k} {a:.4g} -> {b:.4g}" for k, (a, b) in cf["changes"].items())
            lines.append(f"It would choose {cf['action']} after: {moves}.")
    return Explanation(
        action=ev["action"],
        best_action=ev["best_action"],
        expected_value=ev["expected_value"],
        best_expected_value=ev["best_expected_value"],
        cost=ev["cost"],
        cost_ci95=tuple(ev["cost_ci95"]),
        decisive=decision.decisive,
        drivers=[Driver(feature=k, contribution=v) for k, v in sur["drivers"].items()]
        if sur
        else None,
        surrogate_action=sur["predicted_action"] if sur else None,
        surrogate_agreement=sur["holdout_agreement"] if sur else None,
        counterfactual_action=cf["action"] if cf else None,
        counterfactual=[
            Change(feature=k, from_value=a, to_value=b) for k, (a, b) in cf["changes"].items()
        ]
        if cf
        else None,
        model_version=models.version,
        narrative=" ".join(lines),
    )


def explain_capability(
    models: ModelSet, surrogate: Surrogate | None, tools: Sequence[Tool] = ()
) -> Capability[ExplainRequest, Explanation]:
    """The analyst for one request, over the mode's current models; `tools` are what its
    agent may call for more evidence with a model."""
    return decision_capability(
        name="analyst.explain",
        response_model=Explanation,
        gather=lambda request, found: gather(request, found, models, surrogate),
        compute=lambda request, found, decision: compute(request, found, decision, models),
        instructions=(
            "Explain to the bot's developer, in three or four sentences, what the decision "
            "cost or gained against the best action and, when a surrogate is given, which "
            "features drove it and what change would have flipped it. Quote only numbers "
            "from the evidence."
        ),
        tools=tools,
    )
