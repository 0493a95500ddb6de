"""Meta-Learning: a mode's hazard pooled with the other modes' (POST /v1/meta/adapt)."""

from __future__ import annotations

from typing import Any

from capabilities.chat.intent import ChatContext, Intent, mode_of
from capabilities.chat.slots import Slots
from capabilities.chat.text import pct
from capabilities.engines.runtime.evidence import Evidence
from capabilities.meta.models import AdaptRequest
from capabilities.meta.service import adapt


def adapt_mode(context: ChatContext, slots: Slots, found: Evidence) -> str:
    mode = mode_of(context, slots)

    def meta_adapt(**kw: Any) -> dict[str, Any]:
        served = context.model_set(kw["mode"]).source
        answer = adapt(context.database, AdaptRequest(mode=kw["mode"]), served)
        return answer.model_dump(mode="json", include={"mode", "rounds", "served_as", "hazard"})

    r = found.call(meta_adapt, mode=mode)
    h = r["hazard"]
    twin = next(iter(h["resembles"]), None)
    return (
        f"For {mode} ({r['rounds']} rounds of its own, served as {r['served_as']}): the rug "
        f"hazard pooled with the other modes is {pct(h['pooled'])} per tick (95% CI "
        f"{pct(h['pooled_ci95'][0])} to {pct(h['pooled_ci95'][1])}), "
        f"{pct(h['weight_on_others'])} of it borrowed from the others"
        + (f"; it resembles {twin} most" if twin else "")
        + ". POST /v1/meta/adapt has the drift, the trajectory and a chart."
    )


INTENTS = (
    Intent(
        name="meta.adapt",
        capability="meta",
        description="what carries over to a mode from the others (Meta-Learning)",
        examples=(
            "adapt my bot from classic to fast rug",
            "transfer the model to a new mode",
            "what carries over from classic to high volatility",
            "how do I adapt to a new game mode quickly",
            "switch my bot to another game mode",
            "move my policy over to the fast rug rules",
            "reuse what we learned in one mode for another",
            "which mode does rising hazard resemble",
            "adapt my bot to rising hazard",
            "what transfers from classic to fast rug",
            "which mode is closest to high volatility",
            "can my classic policy be reused in profit payout",
            "how should I adapt my bot to a new mode",
            "meta-learning: what carries over to fast_rug",
            "will my bot work in another game mode",
            "where to start fine-tuning for high volatility",
        ),
        handler=adapt_mode,
        cues=(
            r"\b(adapt\w*|transfer\w*|carr(y|ies|ied) over|reuse|learned in|resembles?|"
            r"borrow\w*|pool(ed|ing)|shared? (across|between)|generali[sz]\w*)\b",
            r"\b(new|another|other|different|each|all) (game )?modes?\b|\bacross modes\b",
        ),
        keyword=r"\b(adapt\w*|transfer\w*|borrow\w*|pooled|carr(y|ies|ied) over)\b",
    ),
)
