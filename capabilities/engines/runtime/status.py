"""What `GET /v1/models/status` reports: each model of the chain and its health, the
router's profiles, budget use against the caps, and the answer cache's hit rate."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from capabilities.engines.runtime.engine import Runtime
from capabilities.engines.runtime.router import profiles
from tools.redact import mask_url

if TYPE_CHECKING:  # smolagents loads only when a model is configured
    from tools.llm.models import ChainModel

CACHE_WINDOW_HOURS = 24


class ModelBackend(BaseModel):
    position: int = Field(description="0 is the configured primary")
    model: str = Field(description="backend:model_id, as in records and metrics")
    backend: str
    model_id: str
    base_url: str | None
    price_input_per_1k: float
    price_output_per_1k: float
    health: Literal["up", "down"]
    detail: str | None = None
    latency_ms: float


class ModelProfile(BaseModel):
    capability: str
    model: str
    n: int
    base: float
    expertise: float
    confidence: float
    score: float


class Spend(BaseModel):
    tokens: int
    cost_usd: float


class BudgetCaps(BaseModel):
    request_tokens: int
    daily_tokens: int | None
    monthly_tokens: int | None
    daily_cost_usd: float | None
    monthly_cost_usd: float | None


class BudgetStatus(BaseModel):
    today: Spend
    month: Spend
    reserved: Spend = Field(description="held by requests in flight")
    caps: BudgetCaps


class CacheStatus(BaseModel):
    window_hours: int
    lookups: int
    hits: int
    hit_rate: float | None


class ModelsStatus(BaseModel):
    llm: str = Field(description="the primary model, or `none`")
    backends: list[ModelBackend]
    profiles: list[ModelProfile]
    budget: BudgetStatus
    cache: CacheStatus


def _health(model: ChainModel, position: int, timeout: float) -> ModelBackend:
    started = time.perf_counter()
    try:
        detail, health = model.probe(timeout), "up"
    except Exception as exc:  # any failure of a probe means the server is down
        detail, health = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}", "down"
    latency_ms = round((time.perf_counter() - started) * 1000.0, 2)
    return _backend(model, position, health, detail, latency_ms)


def models_status(runtime: Runtime, *, probe_timeout_s: float) -> ModelsStatus:
    backends: list[ModelBackend] = []
    if runtime.models:
        with ThreadPoolExecutor(max_workers=len(runtime.models)) as pool:
            futures = [
                pool.submit(_health, m, i, probe_timeout_s) for i, m in enumerate(runtime.models)
            ]
            for i, future in enumerate(futures):
                try:
                    backends.append(future.result(timeout=probe_timeout_s + 1))
                except FutureTimeout:
                    backends.append(_down(runtime.models[i], i))
    use = runtime.budget.use()
    policy = use.policy
    with runtime.database.connection() as conn:
        lookups, hits = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE cached) FROM agent_runs"
            " WHERE cacheable AND started_at > now() - make_interval(hours => %s)",
            (CACHE_WINDOW_HOURS,),
        ).fetchone()  # type: ignore[misc]
    return ModelsStatus(
        llm=runtime.models[0].key if runtime.models else "none",
        backends=backends,
        profiles=[
            ModelProfile(
                capability=p.capability,
                model=p.model,
                n=p.n,
                base=round(p.base, 4),
                expertise=round(p.expertise, 4),
                confidence=round(p.confidence, 4),
                score=round(p.score, 4),
            )
            for p in profiles(runtime.database)
        ],
        budget=BudgetStatus(
            today=Spend(tokens=use.today.tokens, cost_usd=use.today.cost_usd),
            month=Spend(tokens=use.month.tokens, cost_usd=use.month.cost_usd),
            reserved=Spend(tokens=use.reserved.tokens, cost_usd=use.reserved.cost_usd),
            caps=BudgetCaps(
                request_tokens=policy.request_tokens,
                daily_tokens=policy.daily_tokens,
                monthly_tokens=policy.monthly_tokens,
                daily_cost_usd=policy.daily_cost_usd,
                monthly_cost_usd=policy.monthly_cost_usd,
            ),
        ),
        cache=CacheStatus(
            window_hours=CACHE_WINDOW_HOURS,
            lookups=lookups,
            hits=hits,
            hit_rate=round(hits / lookups, 4) if lookups else None,
        ),
    )


def _down(model: ChainModel, position: int) -> ModelBackend:
    return _backend(model, position, "down", "probe timed out", 0.0)


def _backend(
    model: ChainModel,
    position: int,
    health: str,
    detail: str | None,
    latency_ms: float,
) -> ModelBackend:
    spec = model.spec
    return ModelBackend(
        position=position,
        model=spec.key,
        backend=spec.backend,
        model_id=spec.model_id,
        base_url=mask_url(spec.base_url) if spec.base_url else None,
        price_input_per_1k=spec.price.input_per_1k,
        price_output_per_1k=spec.price.output_per_1k,
        health=health,  # type: ignore[arg-type]
        detail=mask_url(detail) if detail else None,
        latency_ms=latency_ms,
    )
