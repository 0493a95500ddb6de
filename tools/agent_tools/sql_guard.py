"""Guarded read-only SQL for agents: validate with PostgreSQL's own parser, then run.

Validation parses the text with `pglast` (libpg_query: the server's grammar, so dollar
quotes, nested comments, `E''` escapes and `;` inside strings are read exactly as the
server would read them; a home-made tokenizer would have to re-implement all of that
and would be the weak point). The parse tree must be one SELECT (or WITH ... SELECT)
made only of known node types, reading only allow-listed tables, calling only
allow-listed functions in any syntax and casting only to plain types. PostgreSQL reads
`(x).f` and `t.f` as the call `f(x)` when `f` is no column, so a name in field position
that names any other function of the server's catalog is refused too. What runs is the
tree printed back by pglast with every table qualified by `public`, so comments and
anything the parser ignored never reach the server, and the search path can be
`pg_catalog` alone.

Execution (`sql_session.py`) is the second line of defence: the query runs on a
connection of its own, logged in as `agent_sql` (migration 0090), a role that is a
member of no other role (so there is no role to switch to), owns nothing and may only
SELECT the allow-listed tables; the tool checks that before every query and refuses a
login with more rights. The connection is closed after the query, so nothing a query
could leave on a session (an advisory lock, a setting) outlives it. Inside: a `READ
ONLY` transaction, a statement timeout, a server-side cursor read up to a row cap, and
a cap on each row's bytes computed by the server, so an oversized value never crosses
the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.stream import RawStream

from tools.agent_tools.base import ToolError

TOOL = "query_database"
MAX_QUERY_CHARS = 8000
DEFAULT_LOGIN = "agent_sql"

# What the model needs to write correct SQL; tests check every column here exists.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "games": (
        "game_id", "mode", "started_at", "ended_at", "rug_tick", "peak_multiplier",
        "final_price", "server_seed", "server_seed_hash", "tick_count", "updated_at",
        "game_version", "first_observed_tick", "source_format", "hash_ok", "replay_ok",
        "verification", "verified_at",
    ),
    "ticks": ("game_id", "tick", "time", "price"),
    "trades": (
        "trade_id", "game_id", "tick", "time", "player_id", "username", "type", "amount",
        "qty", "price", "leverage",
    ),
    "sidebets": (
        "game_id", "player_id", "start_tick", "end_tick", "amount", "payout_factor",
        "outcome", "payout", "time",
    ),
    "players": ("player_id", "username", "level", "first_seen", "last_seen"),
    "websocket_events": ("time", "event_type", "game_id", "payload", "source", "event_key"),
    "game_stats_minute": ("bucket", "games", "mean_rug_tick", "mean_peak", "trades"),
}  # fmt: skip
ALLOWED_TABLES = frozenset(TABLE_COLUMNS)
# Names a query may use in field position (`t.f`, `(x).f`) even where a function of that
# name exists: a column of an allowed table resolves before any function does.
COLUMN_NAMES = frozenset(name for columns in TABLE_COLUMNS.values() for name in columns)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ALLOWED_FUNCTIONS = _words(
    # aggregates and statistics
    "count sum avg min max stddev stddev_samp stddev_pop variance var_samp var_pop "
    "percentile_cont percentile_disc mode corr covar_pop covar_samp regr_slope "
    "regr_intercept regr_r2 regr_count bool_and bool_or every array_agg string_agg "
    "json_agg jsonb_agg json_object_agg jsonb_object_agg bit_and bit_or "
    # window functions
    "row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value "
    "last_value nth_value "
    # arithmetic
    "abs ceil ceiling floor round trunc sqrt cbrt power pow exp ln log log10 sign mod div "
    "width_bucket greatest least pi degrees radians isfinite "
    # time
    "now date_trunc date_bin date_part extract age to_char to_timestamp to_date "
    "make_interval make_timestamptz timezone justify_interval "
    # text
    "lower upper length char_length substr substring position strpos replace concat "
    "concat_ws left right btrim ltrim rtrim trim split_part regexp_replace regexp_match "
    "starts_with format_type "
    # json and arrays
    "jsonb_array_length json_array_length jsonb_typeof json_typeof jsonb_extract_path "
    "jsonb_extract_path_text json_extract_path json_extract_path_text jsonb_array_elements "
    "jsonb_array_elements_text json_array_elements jsonb_each jsonb_each_text "
    "jsonb_object_keys jsonb_build_object json_build_object jsonb_build_array to_jsonb "
    "to_json array_length cardinality unnest generate_series array_position"
)

# Named in refusals so the agent learns why, not only that, a call was refused.
SIDE_EFFECT_PREFIXES = ("pg_", "lo_", "dblink", "set_config", "nextval", "setval", "txid_")

ALLOWED_TYPES = _words(
    "int2 int4 int8 integer bigint smallint numeric decimal float4 float8 real text varchar "
    "bpchar char bool boolean date time timetz timestamp timestamptz interval json jsonb"
)

# Parse-tree nodes a read-only analytical query is made of; anything else is refused.
ALLOWED_NODES = frozenset(
    {
        ast.RawStmt, ast.SelectStmt, ast.ResTarget, ast.ColumnRef, ast.A_Star, ast.A_Const,
        ast.A_Expr, ast.BoolExpr, ast.NullTest, ast.BooleanTest, ast.SubLink, ast.FuncCall,
        ast.TypeCast, ast.TypeName, ast.RangeVar, ast.RangeSubselect, ast.RangeFunction,
        ast.JoinExpr, ast.Alias, ast.SortBy, ast.WindowDef, ast.WithClause,
        ast.CommonTableExpr, ast.CaseExpr, ast.CaseWhen, ast.CoalesceExpr, ast.MinMaxExpr,
        ast.SQLValueFunction, ast.A_Indirection, ast.A_Indices, ast.A_ArrayExpr, ast.RowExpr,
        ast.String, ast.Integer, ast.Float, ast.Boolean, ast.GroupingSet, ast.CollateClause,
    }
)  # fmt: skip

STATEMENT_WORDS = {
    ast.DropStmt: "DROP", ast.UpdateStmt: "UPDATE", ast.InsertStmt: "INSERT",
    ast.DeleteStmt: "DELETE", ast.AlterTableStmt: "ALTER", ast.CopyStmt: "COPY",
    ast.CreateStmt: "CREATE", ast.GrantStmt: "GRANT", ast.VariableSetStmt: "SET",
    ast.CallStmt: "CALL", ast.DoStmt: "DO", ast.TruncateStmt: "TRUNCATE",
    ast.ExplainStmt: "EXPLAIN", ast.CreateTableAsStmt: "CREATE TABLE AS",
    ast.TransactionStmt: "a transaction command", ast.MergeStmt: "MERGE",
}  # fmt: skip


@dataclass(frozen=True)
class SqlLimits:
    """How much one query may read and for how long."""

    max_rows: int = 200
    timeout_ms: int = 5000
    max_row_bytes: int = 8192


def validate_query(text: str, function_names: frozenset[str] = frozenset()) -> str:
    """The normalised text of one permitted SELECT; raises ToolError saying what is refused.

    `function_names` are the functions the server knows (`SqlLogin.function_names()`):
    a name in field position that is one of them, and not allowed, is refused. Without
    it only the side-effect prefixes are caught in field position.
    """
    if not isinstance(text, str) or not text.strip():
        raise ToolError(TOOL, "the query is empty; send one SELECT statement", "sql")
    if len(text) > MAX_QUERY_CHARS:
        raise ToolError(TOOL, f"the query is longer than {MAX_QUERY_CHARS} characters", "sql")
    try:
        statements = parse_sql(text)
    except ParseError as exc:
        raise ToolError(TOOL, f"the query does not parse: {exc}", "sql") from exc
    if len(statements) != 1:
        raise ToolError(
            TOOL,
            f"exactly one statement is allowed, got {len(statements)}; "
            "send one SELECT without ';'-chained statements",
            "sql",
        )
    statement = statements[0].stmt
    if not isinstance(statement, ast.SelectStmt):
        word = STATEMENT_WORDS.get(type(statement), type(statement).__name__)
        raise ToolError(TOOL, f"{word} is refused: only SELECT (or WITH ... SELECT) runs", "sql")
    try:
        _Guard(function_names).check(statement, frozenset())
    except RecursionError as exc:
        raise ToolError(TOOL, "the query is nested too deeply; simplify it", "sql") from exc
    return RawStream()(statements[0])


@dataclass(frozen=True)
class _Guard:
    """One walk of a parse tree; `functions` are the server's function names."""

    functions: frozenset[str]

    def check(self, node: ast.Node, ctes: frozenset[str]) -> None:
        """Walk the tree; `ctes` are the WITH names visible here (they shadow no table)."""
        kind = type(node)
        if kind not in ALLOWED_NODES:
            word = STATEMENT_WORDS.get(kind)
            if word:
                raise ToolError(TOOL, f"{word} is refused, also inside WITH: the tool reads only")
            raise ToolError(TOOL, f"the SQL construct {kind.__name__} is not supported here")
        if isinstance(node, ast.SelectStmt):
            self._check_select(node, ctes)
            return
        if isinstance(node, ast.RangeVar):
            _check_table(node, ctes)
        elif isinstance(node, ast.FuncCall):
            _check_function(_names(node.funcname))
        elif isinstance(node, ast.TypeName):
            _check_type(_names(node.names))
        elif isinstance(node, ast.ColumnRef):
            for field in node.fields[1:]:
                if isinstance(field, ast.String):
                    self._check_field(field.sval)
        elif isinstance(node, ast.A_Indirection):
            for item in node.indirection:
                if isinstance(item, ast.String):
                    self._check_field(item.sval)
        elif isinstance(node, ast.A_Expr) and node.name and len(node.name) > 1:
            _check_operator(node.name)
        elif isinstance(node, ast.SortBy) and node.useOp and len(node.useOp) > 1:
            _check_operator(node.useOp)
        for child in _children(node):
            self.check(child, ctes)

    def _check_select(self, node: ast.SelectStmt, ctes: frozenset[str]) -> None:
        if node.intoClause is not None:
            raise ToolError(
                TOOL, "SELECT INTO creates a table and is refused: the tool is read-only"
            )
        if node.lockingClause:
            raise ToolError(
                TOOL, "FOR UPDATE/SHARE locks rows and is refused: the tool is read-only"
            )
        visible = ctes
        if node.withClause is not None:
            names = [cte.ctename for cte in node.withClause.ctes]
            for index, cte in enumerate(node.withClause.ctes):
                # a recursive WITH sees all its names; a plain one only the earlier ones
                scope = names if node.withClause.recursive else names[:index]
                self.check(cte, ctes | frozenset(scope))
            visible = ctes | frozenset(names)
        for name in type(node).__slots__:
            if name == "withClause":
                continue
            for child in _nodes(getattr(node, name)):
                self.check(child, visible)

    def _check_field(self, name: str) -> None:
        """`t.f` and `(x).f` run `f(t)` / `f(x)` when f is no column: a field name that
        is a function of the server's, and neither allowed nor a column of an allowed
        table (a column resolves first), is a call the allow-list never saw."""
        if name in ALLOWED_FUNCTIONS or name in COLUMN_NAMES:
            return
        if name in self.functions or name.startswith(SIDE_EFFECT_PREFIXES):
            raise ToolError(
                TOOL,
                f"field .{name} is refused: PostgreSQL reads (x).{name} and t.{name} as the "
                f"call {name}(x) when {name} is no column, and {name}() is not on the allowed "
                "list; name your columns after what they hold",
            )


def _check_table(node: ast.RangeVar, ctes: frozenset[str]) -> None:
    if node.catalogname is None and node.schemaname is None and node.relname in ctes:
        return
    qualified = ".".join(n for n in (node.catalogname, node.schemaname, node.relname) if n)
    if node.catalogname is not None or node.schemaname not in (None, "public"):
        raise ToolError(TOOL, f"table {qualified} is not allowed; {_tables_hint()}")
    if node.relname not in ALLOWED_TABLES:
        raise ToolError(TOOL, f"table {node.relname!r} is not allowed; {_tables_hint()}")
    # qualified in the text that runs, so the search path can be pg_catalog alone and no
    # function, operator or type can resolve to a look-alike in another schema
    node.schemaname = "public"


def _check_function(names: list[str]) -> None:
    *schema, name = names
    if schema and schema != ["pg_catalog"]:
        raise ToolError(TOOL, f"function {'.'.join(names)} is not allowed (schema {schema[0]!r})")
    if name in ALLOWED_FUNCTIONS:
        return
    if name.startswith(SIDE_EFFECT_PREFIXES):
        raise ToolError(
            TOOL,
            f"function {name}() is refused: server and session functions (pg_*, lo_*, dblink, "
            "set_config, nextval, ...) can have side effects or read outside the allowed tables",
        )
    raise ToolError(
        TOOL,
        f"function {name}() is not on the allowed list; use aggregates, window, math, time, "
        "text and json functions (count, avg, percentile_cont, date_trunc, jsonb_extract_path...)",
    )


def _check_operator(names: tuple[ast.String, ...]) -> None:
    schema = _names(names)[0]
    if schema != "pg_catalog":
        raise ToolError(TOOL, f"operators from schema {schema!r} are not allowed")


def _check_type(names: list[str]) -> None:
    *schema, name = names
    if (schema and schema != ["pg_catalog"]) or name not in ALLOWED_TYPES:
        raise ToolError(
            TOOL, f"cast to {'.'.join(names)} is not allowed; cast to numeric, text, time types"
        )


def _tables_hint() -> str:
    return "allowed tables: " + ", ".join(sorted(ALLOWED_TABLES))


def _names(nodes: tuple[ast.String, ...]) -> list[str]:
    return [n.sval for n in nodes]


def _nodes(value: Any) -> Iterator[ast.Node]:
    if isinstance(value, ast.Node):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _nodes(item)


def _children(node: ast.Node) -> Iterator[ast.Node]:
    for name in type(node).__slots__:
        yield from _nodes(getattr(node, name))
