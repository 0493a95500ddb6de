"""One model attempt: a fresh ToolCallingAgent (agents keep per-run state and are not
thread-safe; the model and tools are shared) run in its own thread under a wall-clock
limit, every step and tool call recorded as it happens."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from smolagents import Tool, ToolCallingAgent
from smolagents.memory import ActionStep
from smolagents.monitoring import LogLevel
from smolagents.utils import AgentGenerationError

from capabilities.engines.runtime.evidence import ToolCallRecord
from capabilities.engines.runtime.meter import RequestMeter
from capabilities.engines.runtime.metrics import TOOL_CALLS, TOOL_SECONDS
from capabilities.engines.runtime.records import StepRecord, write_step
from tools.errors import BackendUnavailable
from tools.llm.models import ChainModel, classify_error
from tools.postgres import Database

log = logging.getLogger(__name__)


@dataclass
class AttemptRecorder:
    """Collects one attempt's tool calls and outputs and writes each step as it ends."""

    database: Database
    run_id: str
    attempt: int
    model: ChainModel
    meter: RequestMeter
    tool_outputs: dict[str, Any] = field(default_factory=dict)
    over_budget: bool = False
    cost_usd: float = 0.0
    _pending: list[ToolCallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tool_call(self, record: ToolCallRecord, output: Any = None) -> None:
        TOOL_CALLS.labels(tool=record.tool, outcome="ok" if record.ok else "error").inc()
        TOOL_SECONDS.labels(tool=record.tool).observe(record.duration_ms / 1000.0)
        with self._lock:
            self._pending.append(record)
            if record.ok:
                self.tool_outputs[f"{record.tool}#{len(self.tool_outputs) + 1}"] = output

    def on_step(self, step: ActionStep, agent: ToolCallingAgent) -> None:
        usage = step.token_usage
        tokens_in, tokens_out = (usage.input_tokens, usage.output_tokens) if usage else (0, 0)
        cost = self.model.spec.price.cost(tokens_in, tokens_out)
        self.cost_usd += cost
        with self._lock:
            calls, self._pending = self._pending, []
        timing = step.timing
        record = StepRecord(
            run_id=self.run_id,
            attempt=self.attempt,
            step_number=step.step_number,
            model=self.model.key,
            started_at=datetime.fromtimestamp(timing.start_time, UTC),
            duration_ms=(timing.duration or 0.0) * 1000.0,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=cost,
            error=str(step.error)[:500] if step.error else None,
            is_final=step.is_final_answer,
        )
        try:
            write_step(self.database, record, calls)
        except BackendUnavailable as exc:  # the answer matters more than its record
            log.warning("step not recorded", extra={"run_id": self.run_id, "error": str(exc)})
        if self.meter.add(tokens_in, tokens_out, cost):
            self.over_budget = True
            agent.interrupt()


class RecordingAgent(ToolCallingAgent):
    """A ToolCallingAgent whose tool calls are timed and recorded with their outcome."""

    def __init__(self, *, recorder: AttemptRecorder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recorder = recorder

    def _step_stream(self, memory_step: ActionStep) -> Generator[Any]:
        # a failed model call raises out of the step without marking it: mark it, so the
        # step's record says why it ended
        try:
            yield from super()._step_stream(memory_step)
        except AgentGenerationError as exc:
            memory_step.error = exc
            raise

    def execute_tool_call(self, tool_name: str, arguments: dict[str, str] | str) -> Any:
        if tool_name == "final_answer":
            return super().execute_tool_call(tool_name, arguments)
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        args = arguments if isinstance(arguments, dict) else {"raw": arguments}
        try:
            output = super().execute_tool_call(tool_name, arguments)
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000.0
            error = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
            self.recorder.tool_call(
                ToolCallRecord(tool_name, args, started_at, elapsed, False, error)
            )
            raise
        elapsed = (time.perf_counter() - started) * 1000.0
        self.recorder.tool_call(ToolCallRecord(tool_name, args, started_at, elapsed, True), output)
        return output


@dataclass(frozen=True)
class AttemptResult:
    """What one model produced: an output, or the reason it produced none."""

    output: Any = None
    failure: str | None = None  # timeout | budget | model_error
    detail: str | None = None
    latency_ms: float = 0.0


def run_attempt(
    *,
    recorder: AttemptRecorder,
    tools: Sequence[Tool],
    task: str,
    instructions: str,
    max_steps: int,
    time_limit_s: float,
) -> AttemptResult:
    """Run a fresh agent for at most `time_limit_s`; interrupted when the time is spent
    (it stops before its next step; its in-flight call ends within the model timeout)."""
    agent = RecordingAgent(
        recorder=recorder,
        tools=list(tools),
        model=recorder.model,
        instructions=instructions,
        max_steps=max_steps,
        step_callbacks={ActionStep: recorder.on_step},
        verbosity_level=LogLevel.OFF,
        return_full_result=True,
    )
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = agent.run(task)
        except Exception as exc:  # reported to the caller below, classified
            box["error"] = exc

    started = time.perf_counter()
    thread = threading.Thread(target=target, name=f"agent-{recorder.run_id[:8]}", daemon=True)
    thread.start()
    thread.join(time_limit_s)
    latency = (time.perf_counter() - started) * 1000.0
    if thread.is_alive():
        agent.interrupt()
        return AttemptResult(
            failure="timeout", detail="wall-clock budget spent", latency_ms=latency
        )
    if "error" in box and recorder.over_budget:
        # interrupted at the cap; an answer that arrived with the crossing call is kept
        return AttemptResult(failure="budget", detail="per-request token cap", latency_ms=latency)
    if "error" in box:
        exc = box["error"]
        kind = classify_error(exc)
        return AttemptResult(
            failure="timeout" if kind == "timeout" else "model_error",
            detail=f"{kind}: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}",
            latency_ms=latency,
        )
    result = box["result"]
    if result.state != "success":
        return AttemptResult(failure="model_error", detail="max steps reached", latency_ms=latency)
    return AttemptResult(output=result.output, latency_ms=latency)
