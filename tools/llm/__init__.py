"""Language-model backends: specs parsed from settings (`tools.llm.specs`, re-exported
here), and smolagents models built lazily with timeouts, bounded retries and health
probes (`tools.llm.models`).

This package's top level imports the specs only: Settings read them in the process that
starts gunicorn, and importing `prometheus_client` (the models' metrics) there, before
the multiprocess metrics directory is set, would keep every worker's metrics in memory.
"""

from __future__ import annotations

from tools.llm.specs import LLMConfig, ModelSpec, Price, parse_model, parse_models, parse_prices

__all__ = ["LLMConfig", "ModelSpec", "Price", "parse_model", "parse_models", "parse_prices"]
