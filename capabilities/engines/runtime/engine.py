"""The execution of one capability request:

cache lookup -> gather evidence with tools -> compute the deterministic answer ->
(narrating capabilities, with a model configured and budget left) a fresh agent per model
of the router-ordered chain writes a narrative -> validate (schema, then groundedness:
>= 0.8 deliver, 0.6-0.8 try the next model, below: the deterministic answer) -> record
the run -> cache -> respond, saying what produced the answer and why it fell back.

The runtime never raises because of a model: every model failure ends in the
deterministic answer, marked.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic

from capabilities.engines.runtime import prompts
from capabilities.engines.runtime.budget import Budget, BudgetPolicy
from capabilities.engines.runtime.cache import AnswerCache, input_hash
from capabilities.engines.runtime.evidence import Evidence
from capabilities.engines.runtime.grounding import Grounding
from capabilities.engines.runtime.meter import RequestMeter
from capabilities.engines.runtime.metrics import ANSWERS, CACHE, FALLBACKS, TOOL_CALLS, TOOL_SECONDS
from capabilities.engines.runtime.records import RunRecord, write_outcome, write_run
from capabilities.engines.runtime.router import order_chain, profiles
from capabilities.engines.runtime.spec import Answer, Capability, NumberSource, Req, Resp
from capabilities.engines.runtime.validation import Verdict, computed_numbers, judge
from tools.errors import BackendUnavailable
from tools.postgres import Database

if TYPE_CHECKING:  # smolagents loads only when a model is configured and called
    from capabilities.engines.runtime.agent import AttemptRecorder
    from tools.llm.models import ChainModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimePolicy:
    """Service-wide defaults; a capability may set its own steps, time and cache TTL."""

    max_steps: int = 6
    budget_s: float = 45.0
    cache_ttl_s: int = 900
    router_min_outcomes: int = 10
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)


@dataclass(frozen=True)
class _Narrating(Generic[Req, Resp]):
    """One request's narration: what each model of the chain is given, and its clock
    (the wall-clock budget covers the language-model work, not the compute)."""

    capability: Capability[Req, Resp]
    request: Req
    evidence: Evidence
    answer: Answer
    run_id: str
    meter: RequestMeter
    budget_s: float
    started: float = field(default_factory=time.perf_counter)

    def remaining_s(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)


@dataclass
class _Narration:
    narrative: dict[str, Any] | None = None
    model: str | None = None
    grounding: Grounding | None = None
    reason: str | None = None


class Runtime:
    """Runs capabilities. One per process: holds the shared models, never an agent."""

    def __init__(
        self, *, database: Database, models: Sequence[ChainModel], policy: RuntimePolicy
    ) -> None:
        self.database = database
        self.models = tuple(models)
        self.policy = policy
        self.budget = Budget(database, policy.budget)
        self.cache = AnswerCache(database)

    def run(self, capability: Capability[Req, Resp], request: Req) -> Resp:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        run_id = str(uuid.uuid4())
        key = input_hash(request)
        version = capability.data_version(self.database) if capability.data_version else ""
        ttl = self.policy.cache_ttl_s if capability.cache_ttl_s is None else capability.cache_ttl_s
        if ttl > 0:
            hit = self._cached(capability.name, key, version)
            CACHE.labels(capability=capability.name, result="hit" if hit else "miss").inc()
            if hit is not None:
                response = capability.response_model.model_validate(
                    {**hit, "cached": True, "run_id": run_id}
                )
                self._record(capability, run_id, started_at, started, key, version, response, ttl)
                return response

        evidence = Evidence()
        capability.gather(request, evidence)
        for call in evidence.calls:
            TOOL_CALLS.labels(tool=call.tool, outcome="ok" if call.ok else "error").inc()
            TOOL_SECONDS.labels(tool=call.tool).observe(call.duration_ms / 1000.0)
        answer = capability.compute(request, evidence)
        answer = answer.model_copy(update={"evidence": list(evidence), "run_id": run_id})
        meter = RequestMeter(self.policy.budget.request_tokens)

        narration = _Narration()
        if capability.narrate:
            budget_s = capability.budget_s or self.policy.budget_s
            narration = self._narrate(
                _Narrating(capability, request, evidence, answer, run_id, meter, budget_s)
            )
        response = answer
        if narration.narrative is not None and narration.grounding is not None:
            response = capability.response_model.model_validate(
                {
                    **answer.model_dump(),
                    **narration.narrative,
                    "generated_by": f"model:{narration.model}",
                    "groundedness": round(narration.grounding.score, 4),
                    "sources": [
                        NumberSource(value=v, source=s) for v, s in narration.grounding.sources
                    ],
                    "fallback_reason": narration.reason,
                }
            )
        elif narration.reason:
            response = answer.model_copy(update={"fallback_reason": narration.reason})
        ANSWERS.labels(
            capability=capability.name,
            producer="model" if response.generated_by != "deterministic" else "deterministic",
        ).inc()
        self._record(
            capability, run_id, started_at, started, key, version, response, ttl, evidence, meter
        )
        cacheable = response.generated_by != "deterministic" or response.fallback_reason in (
            None,
            "no_llm",
        )
        if ttl > 0 and cacheable:
            try:
                stored = response.model_dump(mode="json", exclude={"run_id", "cached"})
                self.cache.put(capability.name, key, version, stored, ttl)
            except BackendUnavailable as exc:
                self._degraded("answer not cached", exc)
        return response

    # -- what PostgreSQL adds to an answer, none of which the answer needs: while the
    # database is away (its breaker fails these at once) the request goes on without
    def _cached(self, capability: str, key: str, version: str) -> dict[str, Any] | None:
        try:
            return self.cache.get(capability, key, version)
        except BackendUnavailable as exc:
            self._degraded("answer cache not read", exc)
            return None

    def _degraded(self, what: str, exc: BackendUnavailable) -> None:
        """One line per skipped write while the database is up; while its breaker is
        open the outage was logged once, and each request's misses are debug noise."""
        level = logging.WARNING if self.database.available else logging.DEBUG
        log.log(level, what, extra={"error": str(exc)})

    # -- narration over the chain
    def _narrate(self, job: _Narrating[Req, Resp]) -> _Narration:
        if not self.models:
            return _Narration(reason="no_llm")
        worst_cost = max(
            self.policy.budget.request_tokens
            / 1000.0
            * max(m.spec.price.input_per_1k, m.spec.price.output_per_1k)
            for m in self.models
        )
        try:
            reserved = self.budget.reserve(job.run_id, cost_usd=worst_cost, ttl_s=job.budget_s + 60)
        except BackendUnavailable as exc:  # spend that cannot be checked is not spent
            self._degraded("budget not checked: no model call", exc)
            reserved = False
        if not reserved:
            FALLBACKS.labels(capability=job.capability.name, reason="budget").inc()
            return _Narration(reason="budget")
        try:
            return self._try_chain(job)
        finally:
            try:
                self.budget.release(job.run_id)
            except BackendUnavailable as exc:  # the reservation expires on its own
                self._degraded("budget reservation not released", exc)

    def _ordered_models(self, capability: str) -> list[ChainModel]:
        if len(self.models) < 2:
            return list(self.models)
        try:
            found = profiles(self.database, capability)
        except BackendUnavailable as exc:  # the configured order
            self._degraded("router profiles not read", exc)
            return list(self.models)
        keys = [m.key for m in self.models]
        return order_chain(self.models, keys, found, self.policy.router_min_outcomes)

    def _try_chain(self, job: _Narrating[Req, Resp]) -> _Narration:
        from capabilities.engines.runtime.agent import AttemptRecorder, run_attempt

        capability, evidence, answer, meter = job.capability, job.evidence, job.answer, job.meter
        task = prompts.render(
            "narrate",
            "task",
            capability=capability.name,
            request_json=prompts.to_json(job.request.model_dump(mode="json")),
            evidence_json=prompts.to_json(_jsonable(evidence.items)),
            answer_json=prompts.to_json(computed_numbers(answer)),
            guidance=capability.instructions,
            schema_json=json.dumps(capability.narrative_model.model_json_schema()),
        )
        instructions = prompts.render("narrate", "instructions")
        reason: str | None = None
        for attempt, model in enumerate(self._ordered_models(capability.name), start=1):
            remaining = job.remaining_s()
            if remaining <= 0:
                reason = "timeout"
                break
            if meter.spent >= meter.token_cap:
                reason = "budget"
                break
            recorder = AttemptRecorder(self.database, job.run_id, attempt, model, meter)
            result = run_attempt(
                recorder=recorder,
                tools=capability.tools,
                task=task,
                instructions=instructions,
                max_steps=capability.max_steps or self.policy.max_steps,
                time_limit_s=remaining,
            )
            if result.failure is None:
                verdict = judge(
                    output=result.output,
                    narrative_model=capability.narrative_model,
                    response_model=capability.response_model,
                    answer=answer,
                    evidence={**evidence.items, **recorder.tool_outputs},
                )
            else:
                verdict = Verdict(None, None, result.failure)
            self._outcome(capability.name, model, verdict, result.latency_ms, recorder)
            if verdict.narrative is not None:
                return _Narration(verdict.narrative, model.key, verdict.grounding, reason)
            FALLBACKS.labels(capability=capability.name, reason=verdict.failure).inc()
            reason = verdict.failure
            # a spent request budget ends the chain, as does prose too poorly grounded;
            # a spent wall clock is caught at the top of the loop
            if verdict.failure == "budget" or not verdict.worth_another_model:
                break
        return _Narration(reason=reason)

    def _outcome(
        self,
        capability: str,
        model: ChainModel,
        verdict: Verdict,
        latency_ms: float,
        recorder: AttemptRecorder,
    ) -> None:
        try:
            write_outcome(
                self.database,
                capability=capability,
                model=model.key,
                success=verdict.failure is None,
                groundedness=verdict.grounding.score if verdict.grounding else None,
                latency_ms=latency_ms,
                cost_usd=recorder.cost_usd,
                reason=verdict.failure,
            )
        except BackendUnavailable as exc:
            self._degraded("outcome not recorded", exc)

    def _record(
        self,
        capability: Capability[Any, Any],
        run_id: str,
        started_at: datetime,
        started: float,
        key: str,
        version: str,
        response: Answer,
        ttl: int,
        evidence: Evidence | None = None,
        meter: RequestMeter | None = None,
    ) -> None:
        run = RunRecord(
            run_id=run_id,
            capability=capability.name,
            started_at=started_at,
            duration_ms=(time.perf_counter() - started) * 1000.0,
            input_hash=key,
            data_version=version,
            generated_by=response.generated_by,
            fallback_reason=response.fallback_reason,
            cacheable=ttl > 0,
            cached=response.cached,
            groundedness=response.groundedness,
            input_tokens=meter.input_tokens if meter else 0,
            output_tokens=meter.output_tokens if meter else 0,
            cost_usd=meter.cost_usd if meter else 0.0,
        )
        try:
            write_run(self.database, run, evidence.calls if evidence else [])
        except BackendUnavailable as exc:
            self._degraded(f"run {run_id} not recorded", exc)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
