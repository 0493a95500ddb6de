"""The guarded SQL tool: questions the named analytics queries do not cover."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from smolagents import Tool

from tools.agent_tools.base import check_int, jsonable, to_json
from tools.agent_tools.sql_guard import TABLE_COLUMNS, TOOL, SqlLimits
from tools.agent_tools.sql_session import SqlLogin, run_readonly_query

MAX_OUTPUT_CHARS = 20_000  # about 5k tokens: more would crowd the model's context


def _schema_text() -> str:
    return "; ".join(f"{table}({', '.join(cols)})" for table, cols in TABLE_COLUMNS.items())


class SqlQueryTool(Tool):
    name = TOOL
    description = (
        "Run ONE read-only PostgreSQL SELECT (or WITH ... SELECT) over the game database, "
        "for questions the named analytics tools do not answer. Tables: "
        + _schema_text()
        + ". trades.type is buy|sell|short_open|short_close; sidebets.outcome is "
        "open|won|lost; games.rug_tick is the last tickCount of a round; prices are "
        "multipliers of the 1.0 start. Refused: any other statement, several statements, "
        "other tables, server functions (pg_*, lo_*, dblink, set_config...). Runs with a "
        "statement timeout and a row cap: aggregate in SQL rather than fetching raw rows. "
        'Returns JSON {"columns": [...], "rows": [[...]], "row_count": n, "truncated": '
        'bool, "max_rows": n}; truncated=true means more rows existed than were returned.'
    )
    inputs = {
        "sql": {"type": "string", "description": "One SELECT statement, no trailing ';' needed."},
        "max_rows": {
            "type": "integer",
            "description": "Rows to return (1 to the tool's cap, default the cap).",
            "nullable": True,
            "minimum": 1,
        },
    }
    output_type = "string"

    def __init__(self, login: SqlLogin, limits: SqlLimits | None = None) -> None:
        super().__init__()
        self._login = login
        self._limits = limits or SqlLimits()
        self.inputs = {**self.inputs, "max_rows": {**self.inputs["max_rows"]}}
        self.inputs["max_rows"]["maximum"] = self._limits.max_rows
        self.is_initialized = True

    def forward(self, sql: str, max_rows: int | None = None) -> str:
        limits = self._limits
        if max_rows is not None:
            cap = check_int(TOOL, "max_rows", max_rows, 1, limits.max_rows)
            limits = replace(limits, max_rows=cap)
        return to_json(_fit(run_readonly_query(self._login, sql, limits)))


def _fit(result: dict[str, Any], budget: int = MAX_OUTPUT_CHARS) -> dict[str, Any]:
    """Keep whole rows while the JSON stays within the budget; say so when rows are cut."""
    used = len(to_json({**result, "rows": []}))
    for index, row in enumerate(result["rows"]):
        used += len(json.dumps(jsonable(row), separators=(",", ":"), ensure_ascii=False)) + 1
        if used > budget:
            note = f"output cut to {index} rows to stay under {budget} characters"
            return {**result, "rows": result["rows"][:index], "row_count": index,
                    "truncated": True, "note": note}  # fmt: skip
    return result
