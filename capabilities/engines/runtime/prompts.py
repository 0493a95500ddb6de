"""Prompts are YAML package data rendered with Jinja2 under StrictUndefined, so a
missing variable is an error rather than a silently empty prompt.

An operator overrides them without a code change: a `<name>.yaml` in the folder named by
`AGENT_PROMPTS_DIR` replaces the parts it defines (the others keep the packaged text);
it is read once per process, and a part the package does not have is refused
(docs/prompts.md)."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined

_ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)  # noqa: S701 - prompts, not HTML
EVIDENCE_CHARS = 12000


@cache
def load_prompt(name: str) -> dict[str, str]:
    text = (
        resources.files("capabilities.engines.runtime")
        .joinpath("prompts", f"{name}.yaml")
        .read_text()
    )
    data = _parts(yaml.safe_load(text), f"prompt {name}.yaml")
    folder = os.environ.get("AGENT_PROMPTS_DIR")
    override = Path(folder) / f"{name}.yaml" if folder else None
    if override is not None and override.is_file():
        parts = _parts(yaml.safe_load(override.read_text()), str(override))
        unknown = sorted(set(parts) - set(data))
        if unknown:
            raise ValueError(f"{override}: no such prompt part {unknown}; known: {sorted(data)}")
        data = {**data, **parts}
    return data


def _parts(data: Any, where: str) -> dict[str, str]:
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{where} must map part names to template strings")
    return data


def render(name: str, part: str, **variables: Any) -> str:
    return _ENV.from_string(load_prompt(name)[part]).render(**variables)


def to_json(value: Any, limit: int = EVIDENCE_CHARS) -> str:
    """Compact JSON for a prompt, cut at `limit` characters (evidence can be large)."""
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + " ...(truncated)"
