"""Rules that span several fields of a request, which JSON Schema cannot state.

A validator that checks one raises `rule_broken(message)`: a pydantic error of type
`cross_field`, answered 422 naming the field like any other invalid input. The model
lists its rules with `cross_field_rules(...)` in its `json_schema_extra`, so openapi.yaml
shows them to clients under `x-cross-field-rules` (and the fuzz test knows a 422 for
them is documented rather than a schema the server does not honour).
"""

from __future__ import annotations

from pydantic_core import PydanticCustomError

CROSS_FIELD = "cross_field"


def rule_broken(message: str) -> PydanticCustomError:
    return PydanticCustomError(CROSS_FIELD, "{rule}", {"rule": message})


def cross_field_rules(*rules: str) -> dict[str, list[str]]:
    return {"x-cross-field-rules": list(rules)}
