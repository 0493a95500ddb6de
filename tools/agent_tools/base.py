"""What every agent tool shares: the recoverable error, input checks, compact JSON.

smolagents turns any exception a tool raises into an observation the model reads
("Error executing tool ...: ToolError: <message>"), so a `ToolError` message says what was
refused and how to ask again. It is an `InvalidInput`, so outside an agent (an HTTP view
calling a tool directly) it still maps to a 422 problem with the field at fault.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tools.errors import FieldError, InvalidInput

MAX_TEXT_CELL = 300  # characters of one text value kept in a result


class ToolError(InvalidInput):
    """A tool call the agent can correct: bad arguments, a refused query, nothing found."""

    def __init__(self, tool: str, detail: str, field: str | None = None) -> None:
        errors = [FieldError(field, detail)] if field else []
        super().__init__(f"{tool}: {detail}", errors)
        self.tool = tool


def check_int(tool: str, field: str, value: Any, lo: int, hi: int) -> int:
    """An integer within [lo, hi]; bools and floats with a fraction are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(tool, f"{field} must be an integer in [{lo}, {hi}]", field)
    if isinstance(value, float) and not value.is_integer():
        raise ToolError(tool, f"{field} must be a whole number, got {value}", field)
    if not lo <= value <= hi:
        raise ToolError(tool, f"{field} must be in [{lo}, {hi}], got {value}", field)
    return int(value)


def check_number(tool: str, field: str, value: Any, lo: float, hi: float) -> float:
    """A finite number within (lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ToolError(tool, f"{field} must be a number in ({lo}, {hi}]", field)
    if not lo < value <= hi:
        raise ToolError(tool, f"{field} must be in ({lo}, {hi}], got {value}", field)
    return float(value)


def check_choice(tool: str, field: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ToolError(tool, f"{field} must be one of {', '.join(choices)}; got {value!r}", field)
    return str(value)


def check_identifier(tool: str, field: str, value: Any, pattern: re.Pattern[str]) -> str:
    """A key (game id, player id, mode) matched against its pattern before it is bound."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ToolError(tool, f"{field} {value!r} is not a valid {field}", field)
    return value


def jsonable(value: Any, max_text: int = MAX_TEXT_CELL) -> Any:
    """A value json.dumps accepts: 6 significant digits, times as ISO text, long text cut."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return jsonable(float(value), max_text)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        return value if len(value) <= max_text else value[:max_text] + "...[cut]"
    if isinstance(value, dict):
        return {str(k): jsonable(v, max_text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, max_text) for v in value]
    return jsonable(str(value), max_text)


def to_json(payload: dict[str, Any], max_text: int = MAX_TEXT_CELL) -> str:
    """Compact JSON text: what a tool returns to the model."""
    return json.dumps(jsonable(payload, max_text), separators=(",", ":"), ensure_ascii=False)
