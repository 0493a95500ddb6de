"""Questions the knowledge base answers: the game's rules, the protocol, the RL design,
and what feature discovery found ("what predicts the rug?")."""

from __future__ import annotations

from typing import Any

from capabilities.chat.intent import ChatContext, Intent
from capabilities.chat.slots import Slots
from capabilities.chat.text import num, pct
from capabilities.engines.runtime.evidence import Evidence
from tools.errors import BackendUnavailable

DOC_COLLECTIONS = ["rugs_protocol", "rl_design", "external_docs"]


def _search(context: ChatContext, found: Evidence, query: str, collections: list[str],
            top_k: int = 3) -> list[dict[str, Any]]:  # fmt: skip
    if context.knowledge is None:
        return []
    knowledge = context.knowledge

    def knowledge_search(**kw: Any) -> list[dict[str, Any]]:
        result = knowledge().search_result(kw["query"], kw["collections"], kw["top_k"])
        return [
            {"id": f"{c.collection}:{c.source}#{c.chunk_index}", "heading": c.heading,
             "score": round(c.score, 4), "text": c.text[:600]}
            for c in result.chunks
        ]  # fmt: skip

    try:
        return found.call(knowledge_search, query=query, collections=collections, top_k=top_k)
    except BackendUnavailable:  # recorded by `call`; the answer says the base is away
        return []


def search(context: ChatContext, slots: Slots, found: Evidence) -> str:
    chunks = _search(context, found, context.message[:500], DOC_COLLECTIONS)
    if not chunks:
        return (
            "The knowledge base has nothing on that, or cannot be reached now (is it "
            "ingested? see docs/knowledge.md)."
        )
    best = chunks[0]
    text = " ".join(best["text"].split())[:500]
    cites = ", ".join(c["id"] for c in chunks)
    return f"From {best['heading'] or best['id']}: {text} (sources: {cites})"


def predictors(context: ChatContext, slots: Slots, found: Evidence) -> str:
    def discovery_results(**kw: Any) -> dict[str, Any] | None:
        with context.database.connection() as conn:
            row = conn.execute(
                "SELECT id, result, finished_at FROM jobs WHERE kind = 'features.discover'"
                " AND state = 'succeeded' AND (%(mode)s::text IS NULL"
                " OR result->>'mode' = %(mode)s) ORDER BY finished_at DESC LIMIT 1",
                kw,
            ).fetchone()
        if row is None:
            return None
        return {"job_id": str(row[0]), "finished_at": row[2].isoformat(), **(row[1] or {})}

    r = found.call(discovery_results, mode=slots.mode)
    if r is None:
        chunks = _search(context, found, "features that predict the rug", ["agent_insights"])
        if chunks:
            return f"From earlier discovery insights: {chunks[0]['text'][:500]}"
        return (
            "No feature discovery has run yet. Start one with POST /v1/features/discover "
            "(a job over the stored rounds); I will then answer from its findings."
        )
    parts = []
    for target in r.get("targets", []):
        good = [f for f in target.get("features", []) if f.get("predictive")][:3]
        if not good:
            parts.append(f"nothing predicts {target['target']} at the chosen false-discovery rate")
            continue
        listed = "; ".join(
            f"{f['name']} (effect {num(f['effect'])}, q {num(f['q_value'])})" for f in good
        )
        parts.append(f"{target['target']}: {listed}")
    return (
        f"Feature discovery over {r.get('rounds')} {r.get('mode')} rounds (job {r['job_id']}, "
        f"FDR {pct(r.get('fdr'))}): " + " | ".join(parts) + "."
    )


INTENTS = (
    Intent(
        name="knowledge.search",
        capability="knowledge",
        description="how the game, the protocol or the bot's design works (knowledge base)",
        examples=(
            "how does the sidebet work?",
            "explain the rules of the game",
            "what does the gameStateUpdate event contain",
            "what is the payout of a sidebet",
            "how are rewards defined in the RL environment",
            "what observation does the bot get",
            "what does presale mean",
            "how does shorting work in rugs",
            "what is a rugpool",
            "where is the protocol documented",
            "what fields does the trade event have",
            "what does the rugged flag mean",
            "how is the leaderboard computed",
            "what is the minimum bet",
            "how long is the sidebet window",
            "what is the max leverage in the game",
            "is there a fee on trades",
            "what is the maximum payout",
            "what happens to my position when the round rugs",
            "how does the rugpool work",
            "what is a sidebet and how does it pay",
            "what are the rules for selling",
            "which fields does the websocket event carry",
            "what does the bot see as its observation",
            "what is the difference between fast rug and classic",
            "how are sidebet payouts computed",
            "what happens to open positions when a round rugs",
            "what is a rug",
            "what is different about the high_volatility mode",
            "what does the profit_payout mode do",
        ),
        handler=search,
        cues=(
            r"\b(rules?|protocol|event|fields?|docs?|documentation|explain how|rl|env\w*)\b",
            r"\bhow (does|do|is) .* (work|computed|defined|pay)"
            # a term's meaning: "what is an instarug", "what does profit payout change"
            r"|^\W*what('s| is) an? \w+\W*$|\bwhat does .* mean\b|\b(define|definition)\b"
            r"|\bwhat does .*\bmode (change|do)\b|\b(different|differ\w*)\b",
        ),
    ),
    Intent(
        name="discovery.predictors",
        capability="discovery",
        description="which features predict the rug or the next price move (Feature Discovery)",
        examples=(
            "what predicts the rug?",
            "which features predict a rug within 40 ticks",
            "is there any signal before a rug",
            "what are the best predictors of the next price move",
            "did feature discovery find anything",
            "can the rug be predicted from the price",
            "what features matter for rug timing",
            "can the crash be forecast",
            "which features predict a rug",
            "is there a signal that the round will rug soon",
            "what predicts the price move on the next tick",
            "does anything in the data forecast the rug tick",
            "best predictors of an instarug",
            "results of feature discovery",
            "which variables correlate with an early rug",
            "can trades or volume predict the crash",
        ),
        handler=predictors,
        cues=(
            r"\bpredict\w*\b|\binsights?\b",
            r"\b(signals?|features?|early signs?|discover\w*|findings?)\b",
        ),
    ),
)
