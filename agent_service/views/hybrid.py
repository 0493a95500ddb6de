"""`POST /v1/hybrid/decide` (the real-time path) and `GET /v1/hybrid/stats`."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, ConfigDict

from agent_service.api import json_response, operation, parse_body, parse_query
from agent_service.jobs import JobAccepted, submit_accepted
from capabilities.coach.capability import position_of
from capabilities.engines.game_models.ev import ACTIONS
from capabilities.engines.game_models.registry import rules_model_set
from capabilities.engines.state import (
    ModeName,
    action_name,
)
from capabilities.hybrid.advice import KIND as ADVICE_KIND
from capabilities.hybrid.advice import adjusted, load_advice
from capabilities.hybrid.log import DecisionRecord
from capabilities.hybrid.models import (
    Advice,
    AdviceRequest,
    BotStats,
    DecideRequest,
    DecideResponse,
    DecisionBatch,
    DecisionsAccepted,
    StatsQuery,
    StatsResponse,
)
from capabilities.hybrid.policy import HybridInput, Thresholds, decide
from capabilities.hybrid.stats import hybrid_stats
from capabilities.opponents.service import sell_forecast
from tools.errors import NotFound

bp = Blueprint("hybrid", __name__, url_prefix="/v1")


def thresholds(mode: str) -> Thresholds:
    """The settings' thresholds, adjusted by the mode's cached advice (never waits)."""
    state = current_app.extensions["agent"]
    s = state.settings
    base = Thresholds(
        min_loss=s.hybrid_min_loss,
        critical_confidence=s.hybrid_critical_confidence,
        override_confidence=s.hybrid_override_confidence,
    )
    return adjusted(base, state.backends.advice.get(mode))


@bp.post("/hybrid/decide")
@operation(
    summary="Keep or override the RL action (real time: no I/O, no language model)",
    tag="capabilities",
    request=DecideRequest,
    response=DecideResponse,
)
def decide_view() -> Response:
    started = time.perf_counter()
    body = parse_body(DecideRequest)
    backends = current_app.extensions["agent"].backends
    state = body.state
    models = backends.models.peek(state.mode) or rules_model_set(state.mode)
    rl = action_name(body.rl_action)
    item = HybridInput(
        position=position_of(state),
        rl_action=rl,
        recent_prices=state.recent_prices,
        leverage=body.leverage,
        avg_cost=state.avg_cost,
        stake=body.stake,
        one_sidebet_per_round=body.one_sidebet_per_round,
        # 0/1 are the sidebet env's actions: its bot cannot buy or sell
        allowed=("hold", "sidebet") if isinstance(body.rl_action, int) else ACTIONS,
        player_id=body.player_id,
        leaderboard=[(e.id, e.pnl or 0.0) for e in state.leaderboard or ()],
        recent_trades=[(t.tick, t.type, t.amount) for t in body.recent_trades or ()],
        holders=[
            (e.id, e.positionQty, (e.model_extra or {}).get("avgCost"))
            for e in state.leaderboard or ()
            if e.positionQty
        ],
    )
    forecast = sell_forecast(backends.database)  # in memory; refreshed in the background
    d = decide(item, models, thresholds(state.mode), forecast)
    action = d.action
    if isinstance(body.rl_action, int):  # answer in the caller's terms
        action = {"hold": 0, "sidebet": 1}.get(d.action, d.action)
    latency = (time.perf_counter() - started) * 1000
    decision_id = uuid.uuid4()
    backends.decisions.record(
        DecisionRecord(
            time=datetime.now(UTC),
            decision_id=decision_id,
            bot_id=body.bot_id,
            mode=state.mode,
            game_id=state.game_id,
            tick=state.tick,
            price=state.price,
            stake=body.stake or models.economics.min_bet,
            input_hash=hashlib.sha256(request.get_data()).hexdigest()[:16],
            rl_action=rl,
            action=d.action,
            source=d.source,
            critical=d.critical,
            reason=d.reason,
            confidence=d.confidence,
            expected_loss=d.expected_loss,
            latency_ms=latency,
            model_version=models.version,
        )
    )
    return json_response(
        DecideResponse(
            decision_id=decision_id,
            action=action,
            source=d.source,  # type: ignore[arg-type]
            critical=d.critical,
            reason=d.reason,
            confidence=d.confidence,
            expected_loss=d.expected_loss,
            best_action=d.best_action,  # type: ignore[arg-type]
            rules=list(d.rules),
            model_version=models.version,
            latency_ms=round(latency, 3),
        )
    )


@bp.post("/hybrid/decisions")
@operation(
    summary="Log decisions the bot took on its own (fallbacks, moments it did not ask about)",
    tag="capabilities",
    request=DecisionBatch,
    response=DecisionsAccepted,
    status=202,
)
def log_decisions() -> Response:
    body = parse_body(DecisionBatch)
    backends = current_app.extensions["agent"].backends
    received = datetime.now(UTC)
    min_bet: dict[str, float] = {}
    for item in body.decisions:
        if item.mode not in min_bet:
            min_bet[item.mode] = rules_model_set(item.mode).economics.min_bet
        backends.decisions.record(
            DecisionRecord(
                time=item.time or received,
                decision_id=uuid.uuid4(),
                bot_id=body.bot_id,
                mode=item.mode,
                game_id=item.game_id,
                tick=item.tick,
                price=item.price,
                stake=item.stake or min_bet[item.mode],
                input_hash=hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:16],
                rl_action=action_name(item.rl_action),
                action=action_name(item.action),
                source="rl",  # the bot's own policy acted; the log knows rl and agent
                critical=False,
                reason=f"{item.source}: {item.reason}" if item.reason else item.source,
                confidence=0.0,
                expected_loss=0.0,
                latency_ms=item.latency_ms,
                model_version="bot",
            )
        )
    return json_response(DecisionsAccepted(accepted=len(body.decisions)), status=202)


@bp.get("/hybrid/stats")
@operation(
    summary="Override rates and the outcomes of overrides against the RL action",
    tag="capabilities",
    query=StatsQuery,
    response=StatsResponse,
    extra_statuses=(503,),
)
def stats() -> Response:
    q = parse_query(StatsQuery)
    database = current_app.extensions["agent"].backends.database
    rows = hybrid_stats(
        database, mode=q.mode, bot_id=q.bot_id, since=timedelta(hours=q.since_hours)
    )
    return json_response(StatsResponse(bots=[BotStats(**r) for r in rows]))


class AdviceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ModeName = "classic"


@bp.post("/hybrid/advice")
@operation(
    summary="Recompute a mode's regime advice out of band (a job: poll status_url)",
    tag="capabilities",
    request=AdviceRequest,
    response=JobAccepted,
    status=202,
    extra_statuses=(503,),
)
def refresh_advice() -> Response:
    body = parse_body(AdviceRequest)
    return submit_accepted(ADVICE_KIND, body.model_dump(mode="json"))


@bp.get("/hybrid/advice")
@operation(
    summary="A mode's current regime advice (what the hybrid's thresholds follow)",
    tag="capabilities",
    query=AdviceQuery,
    response=Advice,
    extra_statuses=(404, 503),
)
def current_advice() -> Response:
    q = parse_query(AdviceQuery)
    advice = load_advice(current_app.extensions["agent"].backends.database).get(q.mode)
    if advice is None:
        raise NotFound(f"no advice for mode {q.mode!r} yet; POST /v1/hybrid/advice")
    return json_response(advice)
