"""What a configured language model is: backend, model id, optional server, prices.

`AGENT_LLM_MODELS` lists the chain as comma-separated `backend:model_id[@base_url]`
entries, e.g. `openai:qwen2.5-7b@http://gpu1:8000/v1, hf:Qwen/Qwen2.5-72B-Instruct`.
`AGENT_LLM_PRICES` gives USD per 1,000 input/output tokens by model id, e.g.
`qwen2.5-7b=0.0002/0.0006, Qwen/Qwen2.5-72B-Instruct=0.0009/0.0009`. Parsing errors are
`ValueError`s with a message naming the entry at fault; Settings prefixes the variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tools.redact import mask_url

Backend = Literal["hf", "openai", "transformers"]
BACKENDS: tuple[str, ...] = ("hf", "openai", "transformers")


@dataclass(frozen=True)
class Price:
    """USD per 1,000 tokens."""

    input_per_1k: float = 0.0
    output_per_1k: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_1k + output_tokens * self.output_per_1k) / 1000.0


@dataclass(frozen=True)
class ModelSpec:
    """One model of the chain. `key` (`backend:model_id`) names it in records and metrics."""

    backend: Backend
    model_id: str
    base_url: str | None = None
    price: Price = field(default_factory=Price)

    @property
    def key(self) -> str:
        return f"{self.backend}:{self.model_id}"

    def __str__(self) -> str:
        return self.key + (f"@{mask_url(self.base_url)}" if self.base_url else "")


def parse_model(entry: str) -> ModelSpec:
    """`backend:model_id[@base_url]` -> ModelSpec."""
    text = entry.strip()
    backend, sep, rest = text.partition(":")
    backend = backend.strip().lower()
    if not sep or backend not in BACKENDS:
        raise ValueError(
            f"{text!r}: expected backend:model_id[@base_url] with backend one of "
            + ", ".join(BACKENDS)
        )
    model_id, base_url = rest.strip(), None
    # the server's URL starts at the first '@http': its own userinfo may hold an '@'
    found = re.search(r"@(?=https?://)", model_id)
    at = found.start() if found else model_id.rfind("@")
    if at >= 0:
        model_id, base_url = model_id[:at].strip(), model_id[at + 1 :].strip()
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"{text!r}: the part after '@' must be an http(s) URL")
        if backend == "transformers":
            raise ValueError(f"{text!r}: a transformers model is a local path, not a URL")
    if not model_id:
        raise ValueError(f"{text!r}: the model id is empty")
    if backend == "openai" and base_url is None:
        raise ValueError(f"{text!r}: an openai model needs its server: openai:model@http://...")
    return ModelSpec(backend=backend, model_id=model_id, base_url=base_url)  # type: ignore[arg-type]


def parse_models(value: str) -> tuple[ModelSpec, ...]:
    """The comma-separated chain, in order; duplicates are an error."""
    specs = tuple(parse_model(part) for part in value.split(",") if part.strip())
    keys = [s.key for s in specs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"{key!r} is listed twice")
    return specs


def parse_prices(value: str) -> dict[str, Price]:
    """`model_id=in/out` entries -> prices by model id (USD per 1k tokens)."""
    prices: dict[str, Price] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        model_id, sep, pair = part.strip().rpartition("=")
        numbers = pair.split("/")
        try:
            if not sep or not model_id.strip() or len(numbers) != 2:
                raise ValueError
            price = Price(float(numbers[0]), float(numbers[1]))
        except ValueError:
            raise ValueError(
                f"{part.strip()!r}: expected model_id=input_price/output_price"
            ) from None
        if price.input_per_1k < 0 or price.output_per_1k < 0:
            raise ValueError(f"{part.strip()!r}: prices cannot be negative")
        prices[model_id.strip()] = price
    return prices


@dataclass(frozen=True)
class LLMConfig:
    """Everything needed to build the chain; built from Settings by the service wiring."""

    models: tuple[ModelSpec, ...] = ()
    hf_token: str | None = None
    hf_provider: str | None = None
    api_key: str | None = None
    timeout_s: float = 30.0
    retries: int = 1
    retry_wait_s: float = 1.0
    max_output_tokens: int = 1024
