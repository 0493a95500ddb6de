"""Regime-level advice for the hybrid policy, computed out of band (the `hybrid.advice`
job) and cached: where in a round each action pays under the mode's models, in words,
and optionally thresholds a language model proposes for the mode.

The facts are computed by the expected-value engine over the fitted models; a language
model (through the runtime) may write the guidance and propose `override_confidence` or
`min_loss` within fixed bounds. The decision path only ever reads the cached row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from capabilities.engines.game_models.ev import Position, evaluate
from capabilities.engines.game_models.registry import ModelRegistry, ModelSet
from capabilities.engines.jobs import Progress, handler
from capabilities.engines.jobs.context import job_database, job_runtime, job_tools
from capabilities.engines.runtime import Capability
from capabilities.engines.runtime import Evidence as Gathered
from capabilities.hybrid.models import Advice, AdviceNarrative, AdviceRequest
from capabilities.hybrid.policy import Thresholds
from tools.postgres import Database

if TYPE_CHECKING:
    from smolagents import Tool

KIND = "hybrid.advice"
log = logging.getLogger(__name__)


def regime_facts(models: ModelSet, horizon: int) -> dict[str, Any]:
    """Per tick, where a unit sidebet and holding pay, from the engine."""
    positive = decisive = None
    ev_at: dict[str, float] = {}
    for tick in range(horizon + 1):
        d = evaluate(
            Position(tick=tick, price=1.0), models.hazard, models.price, models.economics, 1.0
        )
        runs = d.value("sidebet").scenarios
        if tick % 100 == 0:
            ev_at[str(tick)] = round(runs[0], 5)
        if positive is None and runs[0] > 0:
            positive = tick
        if decisive is None and min(runs) > 0:
            decisive = tick
    hold = evaluate(Position(tick=0, price=1.0, position_qty=1.0), models.hazard, models.price,
                    models.economics, 1.0).value("hold")  # fmt: skip
    facts: dict[str, Any] = {
        "sidebet_ev_per_sol_at_tick": ev_at,
        "sidebet_positive_from_tick": positive,
        "sidebet_surely_positive_from_tick": decisive,
        "holding_ev_per_sol_per_tick": round(hold.expected_value, 6),
        "holding_ev_ci95": [round(hold.ev_low, 6), round(hold.ev_high, 6)],
    }
    if models.hazard_model is not None:
        facts["hazard"] = models.hazard_model.summary()
    return facts


def guidance(mode: str, facts: dict[str, Any], horizon: int) -> str:
    pos, sure = facts["sidebet_positive_from_tick"], facts["sidebet_surely_positive_from_tick"]
    if pos is None:
        bets = f"sidebets are -EV at every tick up to {horizon}"
    elif sure is None:
        bets = f"sidebets turn +EV from tick {pos}, but within the models' uncertainty"
    else:
        bets = f"sidebets are +EV from tick {pos} (beyond doubt from tick {sure})"
    hold = facts["holding_ev_per_sol_per_tick"]
    verb = "loses" if hold < 0 else "gains"
    return f"In {mode}, {bets}; holding a position {verb} {abs(hold):.6f} SOL per SOL per tick."


def advice_capability(
    models: ModelSet, horizon: int, tools: Sequence[Tool] = ()
) -> Capability[AdviceRequest, Advice]:
    def _gather(request: AdviceRequest, found: Gathered) -> None:
        found.add("ev_engine", regime_facts(models, horizon))

    def _compute(request: AdviceRequest, found: Gathered) -> Advice:
        facts = found["ev_engine"]
        return Advice(mode=request.mode, model_version=models.version, facts=facts,
                      guidance=guidance(request.mode, facts, horizon))  # fmt: skip

    return Capability(
        name=KIND,
        response_model=Advice,
        gather=_gather,
        compute=_compute,
        narrate=True,
        narrative_model=AdviceNarrative,
        instructions=(
            "Write regime-level guidance for a trading bot in this game mode (where in a "
            "round sidebets and positions pay), quoting only the evidence's numbers. You "
            "may propose override_confidence (0.6-0.99) and min_loss (SOL) for the hybrid "
            "policy's overrides, or leave them null."
        ),
        budget_s=60.0,
        tools=tools,
    )


def save_advice(database: Database, advice: Advice) -> None:
    with database.connection() as conn:
        conn.execute(
            "INSERT INTO hybrid_advice (mode, advice) VALUES (%s, %s) ON CONFLICT (mode) "
            "DO UPDATE SET advice = EXCLUDED.advice, created_at = now()",
            (advice.mode, Jsonb(advice.model_dump(mode="json"))),
        )


def load_advice(database: Database) -> dict[str, Advice]:
    with database.connection() as conn:
        rows = conn.execute("SELECT mode, advice FROM hybrid_advice").fetchall()
    return {mode: Advice.model_validate(body) for mode, body in rows}


@handler(KIND)
def advice_job(payload: dict[str, Any], progress: Progress) -> dict[str, Any]:
    request = AdviceRequest.model_validate(payload)
    database = job_database()
    models = ModelRegistry(database).get(request.mode)
    progress(0.3, f"models {models.version}")
    capability = advice_capability(models, request.horizon, job_tools())
    advice = job_runtime().run(capability, request)
    save_advice(database, advice)
    return advice.model_dump(mode="json")


class AdviceCache:
    """The advice of every mode, in memory; reloaded in the background at most every
    `refresh_s` when read (reads never wait on the database)."""

    def __init__(self, database: Database, refresh_s: float = 60.0) -> None:
        self._db = database
        self._refresh_s = refresh_s
        self._advice: dict[str, Advice] = {}
        self._loaded_at = float("-inf")
        self._loading = False
        self._lock = threading.Lock()

    def get(self, mode: str) -> Advice | None:
        with self._lock:
            stale = time.monotonic() - self._loaded_at > self._refresh_s and not self._loading
            if stale:
                self._loading = True
        if stale:
            threading.Thread(target=self._reload, daemon=True).start()
        return self._advice.get(mode)

    def _reload(self) -> None:
        try:
            self._advice = load_advice(self._db)
        except Exception:  # keep serving what was loaded; retry after refresh_s
            log.warning("hybrid advice not reloaded", exc_info=True)
        finally:
            with self._lock:
                self._loaded_at, self._loading = time.monotonic(), False


def adjusted(base: Thresholds, advice: Advice | None) -> Thresholds:
    """The mode's thresholds: the settings, with the advice's proposals where it has any."""
    if advice is None:
        return base
    changes: dict[str, float] = {}
    if advice.override_confidence is not None:
        changes["override_confidence"] = advice.override_confidence
    if advice.min_loss is not None:
        changes["min_loss"] = advice.min_loss
    return Thresholds(**{**base.__dict__, **changes}) if changes else base
