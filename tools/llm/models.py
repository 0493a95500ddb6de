"""smolagents models built from specs: lazily, with a timeout on every call, bounded
retries of rate-limit errors only (smolagents' own retrier waits up to a minute per try),
and every call metered. A failed call is not retried on another server here: moving to
the next model of the chain is the runtime's decision.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import requests
from smolagents.models import ChatMessage, Model
from smolagents.utils import Retrying

from tools.llm.metrics import LLM_CALLS, LLM_LATENCY, LLM_TOKENS
from tools.llm.specs import LLMConfig, ModelSpec

log = logging.getLogger(__name__)

HF_ROUTER = "https://router.huggingface.co/v1"


class LLMUnavailable(Exception):
    """The model cannot be built (missing path, missing package, missing credentials)."""


def classify_error(exc: BaseException) -> str:
    """One word for a failed call, from the exception and its causes: `timeout`,
    `rate_limited`, `server_error` (5xx), `client_error` (other 4xx), `connection`,
    `unavailable` (cannot be built) or `error`."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, LLMUnavailable):
            return "unavailable"
        name = type(seen).__name__.lower()
        if isinstance(seen, TimeoutError) or "timeout" in name:
            return "timeout"
        status = getattr(seen, "status_code", None)
        if status is None:
            status = getattr(getattr(seen, "response", None), "status_code", None)
        if isinstance(status, int):
            if status == 429:
                return "rate_limited"
            return "server_error" if status >= 500 else "client_error"
        if "connection" in name or isinstance(seen, ConnectionError):
            return "connection"
        seen = seen.__cause__ or seen.__context__
    return "error"


def _is_rate_limited(exc: BaseException) -> bool:
    return classify_error(exc) == "rate_limited"


def build_model(spec: ModelSpec, config: LLMConfig) -> Model:
    """The smolagents model for one spec; raises LLMUnavailable with the reason."""
    common: dict[str, Any] = {"max_tokens": config.max_output_tokens}
    if spec.backend == "openai":
        from smolagents import OpenAIServerModel

        model: Model = OpenAIServerModel(
            model_id=spec.model_id,
            api_base=spec.base_url,
            api_key=config.api_key or "unused",  # local servers ignore it; the client needs one
            client_kwargs={"timeout": config.timeout_s, "max_retries": 0},
            retry=False,
            **common,
        )
    elif spec.backend == "hf":
        from smolagents import InferenceClientModel

        if spec.base_url is None and not config.hf_token:
            raise LLMUnavailable(f"{spec.key}: HF_TOKEN is needed for the Hugging Face API")
        model = InferenceClientModel(
            # a URL as the model makes the client speak TGI's route on that server
            model_id=spec.base_url or spec.model_id,
            provider=None if spec.base_url else config.hf_provider,
            token=config.hf_token,
            timeout=config.timeout_s,  # type: ignore[arg-type]
            retry=False,
            **common,
        )
    else:
        path = Path(spec.model_id).expanduser()
        if not path.is_dir():
            raise LLMUnavailable(
                f"{spec.key}: no model at {path} (nothing is downloaded: put the model there)"
            )
        try:
            from smolagents import TransformersModel

            model = TransformersModel(
                model_id=str(path),
                device_map="cpu",
                max_new_tokens=config.max_output_tokens,
                model_kwargs={"local_files_only": True},
            )
        except (ImportError, ValueError, OSError) as exc:
            raise LLMUnavailable(f"{spec.key}: cannot load {path}: {exc}") from exc
    if hasattr(model, "retryer"):
        model.retryer = Retrying(
            max_attempts=1 + config.retries,
            wait_seconds=config.retry_wait_s,
            exponential_base=2.0,
            jitter=True,
            retry_predicate=_is_rate_limited,
            reraise=True,
        )
    return model


class ChainModel(Model):
    """One model of the chain as agents see it: built on first use (a local transformers
    model loads only when called), shared by every request, each call timed and metered.
    Thread-safe: it holds no per-request state."""

    def __init__(self, spec: ModelSpec, config: LLMConfig) -> None:
        super().__init__(model_id=spec.model_id)
        self.spec = spec
        self._config = config
        self._inner: Model | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return self.spec.key

    def inner(self) -> Model:
        with self._lock:
            if self._inner is None:
                self._inner = build_model(self.spec, self._config)
            return self._inner

    def generate(
        self,
        messages: list[ChatMessage | dict],
        stop_sequences: list[str] | None = None,
        response_format: dict[str, str] | None = None,
        tools_to_call_from: list | None = None,
        **kwargs: Any,
    ) -> ChatMessage:
        started = time.perf_counter()
        try:
            message = self.inner().generate(
                messages,
                stop_sequences=stop_sequences,
                response_format=response_format,
                tools_to_call_from=tools_to_call_from,
                **kwargs,
            )
        except Exception as exc:
            LLM_CALLS.labels(model=self.key, outcome=classify_error(exc)).inc()
            LLM_LATENCY.labels(model=self.key).observe(time.perf_counter() - started)
            raise
        LLM_CALLS.labels(model=self.key, outcome="ok").inc()
        LLM_LATENCY.labels(model=self.key).observe(time.perf_counter() - started)
        if message.token_usage is not None:
            LLM_TOKENS.labels(model=self.key, direction="input").inc(
                message.token_usage.input_tokens
            )
            LLM_TOKENS.labels(model=self.key, direction="output").inc(
                message.token_usage.output_tokens
            )
        return message

    def parse_tool_calls(self, message: ChatMessage) -> ChatMessage:
        return self.inner().parse_tool_calls(message)

    def probe(self, timeout: float) -> str:
        """The server's health (see `probe`); raises when down."""
        return probe(self.spec, self._config, timeout)


def probe(spec: ModelSpec, config: LLMConfig, timeout: float) -> str:
    """A cheap health check of the model's server that spends no tokens; raises when down.
    OpenAI-compatible servers list their models, TGI answers `/health`, the Hugging Face
    router lists its models, a transformers model is a readable folder."""
    if spec.backend == "transformers":
        path = Path(spec.model_id).expanduser()
        if not path.is_dir():
            raise LLMUnavailable(f"no model at {path}")
        return "local model folder present"
    headers: dict[str, str] = {}
    if spec.backend == "openai":
        assert spec.base_url is not None
        url = spec.base_url.rstrip("/") + "/models"
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
    elif spec.base_url:
        root = spec.base_url.rstrip("/")
        url = (root[: -len("/v1")] if root.endswith("/v1") else root) + "/health"
    else:
        url = HF_ROUTER + "/models"
        if config.hf_token:
            headers["Authorization"] = f"Bearer {config.hf_token}"
    response = requests.get(url, headers=headers, timeout=timeout)
    response.raise_for_status()
    return f"{url} answered {response.status_code}"


def build_chain(config: LLMConfig) -> tuple[ChainModel, ...]:
    """The configured chain, primary first; nothing is contacted or loaded yet."""
    return tuple(ChainModel(spec, config) for spec in config.models)
