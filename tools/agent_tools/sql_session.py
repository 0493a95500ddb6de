"""Running a validated query as the agents' own database login, with its caps.

The login (`agent_sql` by default, migration 0090) is checked before every query: a
login that is a superuser, may create roles or databases, bypasses row security, is a
member of any role (something to switch to) or may write an allowed table is refused,
so a misconfigured `AGENT_SQL_DATABASE_URL` disables the tool instead of weakening it.
Each query gets a fresh connection that is closed afterwards: nothing a query could
leave on a session (an advisory lock, a setting, a prepared statement) outlives it, and
no pool is shared with the service's own connections.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from tools.agent_tools.base import ToolError
from tools.agent_tools.sql_guard import (
    ALLOWED_TABLES,
    DEFAULT_LOGIN,
    TOOL,
    SqlLimits,
    validate_query,
)
from tools.errors import BackendUnavailable

ROW_BYTES = "__row_bytes"  # the column the cap wrapper adds; never shown to the agent

# Connection failures that are configuration (the login), not an outage of the server.
_LOGIN_FAILURES = (
    "does not exist",
    "authentication failed",
    "no password supplied",
    "permission denied for database",
    "pg_hba.conf",
    "too many connections for role",
)

_PRIVILEGES = """
SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolbypassrls OR r.rolreplication,
       EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid),
       COALESCE((SELECT bool_or(pg_catalog.has_table_privilege(
                    r.oid, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'))
                 FROM pg_catalog.pg_class c
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relname = ANY(%s)), false),
       current_user
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
"""


class SqlLogin:
    """The agents' database login: a DSN, connected per query, checked every time."""

    def __init__(self, dsn: str, *, connect_timeout: float = 5.0) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._functions: frozenset[str] | None = None
        self._lock = threading.Lock()

    @classmethod
    def beside(cls, service_dsn: str, *, user: str = DEFAULT_LOGIN, **kwargs: Any) -> SqlLogin:
        """The login `user` on the service's own server and database (no password: for
        servers that trust local logins, as the embedded one; set AGENT_SQL_DATABASE_URL
        where the server asks for a password)."""
        params = psycopg.conninfo.conninfo_to_dict(service_dsn)
        params.pop("password", None)
        params["user"] = user
        return cls(psycopg.conninfo.make_conninfo(**params), **kwargs)

    def connect(self) -> psycopg.Connection:
        """A new connection as the login, after checking that the login is unprivileged."""
        try:
            conn = psycopg.connect(
                self._dsn,
                connect_timeout=max(1, int(self._connect_timeout)),
                application_name="agent-service-sql",
            )
        except psycopg.OperationalError as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if any(marker in text for marker in _LOGIN_FAILURES):
                raise ToolError(
                    TOOL,
                    f"the SQL tool is disabled: its database login cannot connect ({text}); an "
                    "operator must create it (migration 0090, docs/agent_tools.md); use the "
                    "named analytics tools instead",
                ) from exc
            raise BackendUnavailable("postgres", text) from exc
        try:
            _check_unprivileged(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def function_names(self) -> frozenset[str]:
        """Every function name the server knows (loaded once; extensions add names only
        by migration, which restarts nothing the guard relies on: an unknown name in field
        position fails at the server instead, as no column and no function)."""
        with self._lock:
            if self._functions is None:
                conn = self.connect()
                try:
                    rows = conn.execute("SELECT DISTINCT proname FROM pg_catalog.pg_proc")
                    self._functions = frozenset(r[0] for r in rows)
                finally:
                    conn.close()
            return self._functions


def _check_unprivileged(conn: psycopg.Connection) -> None:
    row = conn.execute(_PRIVILEGES, (sorted(ALLOWED_TABLES),)).fetchone()
    conn.rollback()
    if row is None:
        raise ToolError(TOOL, "the SQL tool is disabled: its login has no role row")
    privileged, member, writes, user = row
    if privileged or member or writes:
        why = (
            "is privileged (superuser, createrole, createdb, bypassrls or replication)"
            if privileged
            else "is a member of another role"
            if member
            else "may write an allowed table"
        )
        raise ToolError(
            TOOL,
            f"the SQL tool is disabled: its login {user!r} {why}; it must log in as a role "
            "that can only SELECT the game tables (agent_sql, migration 0090)",
        )


def checked_query(login: SqlLogin, text: str) -> str:
    """The guard with the server's own function names."""
    validate_query(text)  # refusals that need no connection come first
    return validate_query(text, login.function_names())


def run_readonly_query(login: SqlLogin, text: str, limits: SqlLimits) -> dict[str, Any]:
    """Validate, then run in a read-only transaction as the login; rows up to the cap,
    each row's bytes capped by the server (a longer row comes back as its size)."""
    return execute_capped(login, checked_query(login, text), limits)


def execute_capped(login: SqlLogin, query: str, limits: SqlLimits) -> dict[str, Any]:
    """Run `query` (already validated: never call this with unchecked text) with the
    limits; the login's own rights and ceilings still hold whatever the text does."""
    conn = login.connect()
    try:
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute(
            "SELECT set_config('statement_timeout', %s, true),"
            " set_config('search_path', 'pg_catalog', true)",
            (f"{limits.timeout_ms}ms",),
        )
        described = conn.execute(
            sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(sql.SQL(query))  # type: ignore[arg-type]
        ).description
        columns = [c.name for c in described or []]
        with conn.cursor(name="agent_query") as cursor:
            cursor.execute(_capped(query, len(columns), limits.max_row_bytes))
            rows = cursor.fetchmany(limits.max_rows + 1)
    except pg_errors.QueryCanceled as exc:
        raise ToolError(
            TOOL,
            f"the query ran past the {limits.timeout_ms} ms statement timeout and was "
            "cancelled; narrow it (WHERE on time or game_id, fewer joins, aggregate first)",
            "sql",
        ) from exc
    except psycopg.OperationalError as exc:
        raise BackendUnavailable("postgres", str(exc).strip().splitlines()[0]) from exc
    except psycopg.DatabaseError as exc:
        raise ToolError(TOOL, f"PostgreSQL refused the query: {_pg_message(exc)}", "sql") from exc
    finally:
        conn.close()
    kept = rows[: limits.max_rows]
    oversized = [
        {"row": index, "bytes": row[-1]}
        for index, row in enumerate(kept)
        if row[-1] is not None and row[-1] > limits.max_row_bytes
    ]
    result: dict[str, Any] = {
        "columns": columns,
        "rows": [list(row[:-1]) for row in kept],
        "row_count": len(kept),
        "truncated": len(rows) > limits.max_rows,
        "max_rows": limits.max_rows,
    }
    if oversized:
        result["oversized_rows"] = oversized
        result["note"] = (
            f"{len(oversized)} row(s) exceeded {limits.max_row_bytes} bytes and came back as "
            "nulls with their size: aggregate further or select fewer or shorter columns"
        )
    return result


def _capped(query: str, width: int, cap: int) -> sql.Composed:
    """`query` with each row's bytes measured by the server and its values sent only when
    the row fits: the columns are renamed by position (a query may repeat or omit names)
    so each can be wrapped, and keep their types."""
    names = [sql.Identifier(f"c{i}") for i in range(width)]
    values = [
        sql.SQL("CASE WHEN {b} <= {cap} THEN {n} END").format(
            b=sql.Identifier(ROW_BYTES), cap=sql.Literal(cap), n=name
        )
        for name in names
    ]
    alias = sql.SQL("q({})").format(sql.SQL(", ").join(names)) if names else sql.SQL("q")
    return sql.SQL(
        "SELECT {values} FROM (SELECT q.*, octet_length(q::text) AS {b} "
        "FROM ({query}) AS {alias} OFFSET 0) AS capped"
    ).format(
        values=sql.SQL(", ").join([*values, sql.Identifier(ROW_BYTES)]),
        b=sql.Identifier(ROW_BYTES),
        query=sql.SQL(query),  # type: ignore[arg-type]  # printed back by the guard
        alias=alias,
    )


def _pg_message(exc: psycopg.Error) -> str:
    diag = exc.diag
    text = diag.message_primary or str(exc).splitlines()[0]
    if diag.message_hint:
        text += f" (hint: {diag.message_hint})"
    return text
