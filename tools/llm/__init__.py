"""Language-model backends: specs parsed from settings, smolagents models built lazily
with timeouts and bounded retries, health probes. The runtime chooses among them."""

from __future__ import annotations

from tools.llm.models import ChainModel, LLMUnavailable, build_model, classify_error, probe
from tools.llm.specs import LLMConfig, ModelSpec, Price, parse_model, parse_models, parse_prices

__all__ = [
    "ChainModel",
    "LLMConfig",
    "LLMUnavailable",
    "ModelSpec",
    "Price",
    "build_chain",
    "build_model",
    "classify_error",
    "parse_model",
    "parse_models",
    "parse_prices",
    "probe",
]


def build_chain(config: LLMConfig) -> tuple[ChainModel, ...]:
    """The configured chain, primary first; nothing is contacted or loaded yet."""
    return tuple(ChainModel(spec, config) for spec in config.models)
