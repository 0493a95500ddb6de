"""Rules that span several fields of a request, which JSON Schema cannot state.

A validator that checks one raises `rule_broken(message)`: a pydantic error of type
`cross_field`, answered 422 naming the field like any other invalid input. The model
lists its rules with `cross_field_rules(...)` in its `json_schema_extra`, so openapi.yaml
shows them to clients under `x-cross-field-rules` (and the fuzz test knows a 422 for
them is documented rather than a schema the server does not honour).

A mode name is the other value JSON Schema cannot check: its form is a pattern, but
whether it names a mode depends on what users declared (GET /v1/modes). A well-formed
name that is not a mode fails with the error type `unknown_mode` (`game.rules.known_mode`).
"""

from __future__ import annotations

from pydantic_core import PydanticCustomError

from game.rules import UNKNOWN_MODE

CROSS_FIELD = "cross_field"
DOCUMENTED_REFUSALS = frozenset({CROSS_FIELD, UNKNOWN_MODE})


def rule_broken(message: str) -> PydanticCustomError:
    return PydanticCustomError(CROSS_FIELD, "{rule}", {"rule": message})


def cross_field_rules(*rules: str) -> dict[str, list[str]]:
    return {"x-cross-field-rules": list(rules)}
