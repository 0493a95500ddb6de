"""Prompts are YAML package data rendered with Jinja2 under StrictUndefined, so a
missing variable is an error rather than a silently empty prompt."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined

_ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)  # noqa: S701 - prompts, not HTML
EVIDENCE_CHARS = 12000


@cache
def load_prompt(name: str) -> dict[str, str]:
    text = resources.files("capabilities.runtime").joinpath("prompts", f"{name}.yaml").read_text()
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"prompt {name}.yaml must map names to template strings")
    return data


def render(name: str, part: str, **variables: Any) -> str:
    return _ENV.from_string(load_prompt(name)[part]).render(**variables)


def to_json(value: Any, limit: int = EVIDENCE_CHARS) -> str:
    """Compact JSON for a prompt, cut at `limit` characters (evidence can be large)."""
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + " ...(truncated)"
