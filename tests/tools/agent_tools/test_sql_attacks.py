"""The attacks a review of the SQL guard found (issue 17, item 6), each refused twice:
by the guard (through the tool, with the server's function names) and by the login the
queries run as (the same text sent past the guard, on the tool's own connection path).
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from tests.tools.agent_tools.conftest import table_fingerprint
from tools.agent_tools.base import ToolError
from tools.agent_tools.sql_guard import SqlLimits
from tools.agent_tools.sql_session import SqlLogin, execute_capped
from tools.agent_tools.sql_tool import SqlQueryTool
from tools.migrations import _LOCK_KEY, migrate

ATTACKS = [
    # attribute-style calls: PostgreSQL reads (x).f as f(x)
    ("SELECT (3::float8).pg_sleep", "field .pg_sleep is refused"),
    ("SELECT ($$DELETE FROM games$$::text).ts_stat", "field .ts_stat is refused"),
    ("SELECT g.txid_current FROM games g", "field .txid_current is refused"),
    ("SELECT (g).row_to_json FROM games g", "field .row_to_json is refused"),
    (f"SELECT ({_LOCK_KEY}::int8).pg_advisory_lock", "field .pg_advisory_lock is refused"),
    ("SELECT ('role'::text).current_setting", "field .current_setting is refused"),
    # the role escape used inside such calls
    ("SELECT set_config('role', session_user, true)", "function set_config() is refused"),
    ("SELECT (set_config('role', session_user, true)).length", "set_config() is refused"),
    ("SELECT count(*) FROM pg_authid", "table 'pg_authid' is not allowed"),
    ("SELECT ('/etc/hostname'::text).pg_read_file", "field .pg_read_file is refused"),
]


@pytest.fixture
def login(seeded_db) -> SqlLogin:
    return SqlLogin.beside(seeded_db.dsn)


@pytest.mark.parametrize(("query", "reason"), ATTACKS)
def test_the_guard_refuses_each_attack(login, seeded_dsn, query, reason):
    before = table_fingerprint(seeded_dsn)
    with pytest.raises(ToolError) as info:
        SqlQueryTool(login)(sql=query)
    assert reason in str(info.value)
    assert table_fingerprint(seeded_dsn) == before


def test_columns_named_like_functions_still_read_as_columns(login):
    """`time` and `mode` are catalog functions too; a column of that name resolves first."""
    tool = SqlQueryTool(login)
    result = json.loads(tool(sql="SELECT t.time IS NOT NULL, g.mode FROM ticks t "
                             "JOIN games g USING (game_id) ORDER BY t.time LIMIT 1"))  # fmt: skip
    assert result["rows"] == [[True, "classic"]]


def _past_the_guard(login: SqlLogin, query: str) -> dict:
    return execute_capped(login, query, SqlLimits(timeout_ms=3000))


def test_the_login_cannot_switch_role_read_the_catalog_or_files(login):
    for query in (
        "SELECT set_config('role', session_user, true), (SELECT count(*) FROM pg_authid)",
        "SELECT ('/etc/hostname'::text).pg_read_file",
        "SELECT (SELECT count(*) FROM public.schema_migrations)",
    ):
        with pytest.raises(ToolError, match="permission denied"):
            _past_the_guard(login, query)
    who = _past_the_guard(login, "SELECT set_config('role', session_user, true), current_user")
    assert who["rows"] == [["agent_sql", "agent_sql"]]  # the only role there is to be


def test_sql_run_by_ts_stat_runs_as_the_login(login, seeded_dsn):
    before = table_fingerprint(seeded_dsn)
    for inner in ("DELETE FROM games", "SELECT rolpassword::tsvector FROM pg_authid"):
        with pytest.raises(ToolError, match="refused the query"):
            _past_the_guard(login, f"SELECT ($${inner}$$::text).ts_stat")
    assert table_fingerprint(seeded_dsn) == before


def test_dblink_cannot_write_as_the_login(login, seeded_dsn, pg_admin_dsn):
    with psycopg.connect(seeded_dsn, autocommit=True) as admin:
        available = admin.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'dblink'"
        ).fetchone()
        if available is None:
            pytest.skip("dblink is not installed on this server")
        admin.execute("CREATE EXTENSION IF NOT EXISTS dblink")
    target = psycopg.conninfo.make_conninfo(seeded_dsn, user="postgres")
    write = "INSERT INTO games (game_id) VALUES (''20260101-00000000000000ff'')"
    with pytest.raises(ToolError):
        SqlQueryTool(login)(sql=f"SELECT dblink_exec('{target}', '{write}')")
    with pytest.raises(ToolError, match="refused the query"):
        _past_the_guard(login, f"SELECT dblink_exec('{target}', '{write}')")
    with psycopg.connect(seeded_dsn) as conn:
        count = conn.execute("SELECT count(*) FROM games WHERE game_id LIKE '%ff'").fetchone()
    assert count == (0,)


def test_an_advisory_lock_does_not_outlive_its_query(login, fresh_pg_dsn):
    """The migrations' lock key taken past the guard is released with the connection,
    so `db migrate` does not hang behind it."""
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn)
    fresh_login = SqlLogin.beside(fresh_pg_dsn)
    taken = _past_the_guard(fresh_login, f"SELECT ({_LOCK_KEY}::int8).pg_advisory_lock")
    assert taken["row_count"] == 1
    with psycopg.connect(fresh_pg_dsn, autocommit=True) as admin:
        held = admin.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
        assert held == (0,)
        admin.execute("SET lock_timeout = '2s'")
        assert admin.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone() == (True,)


def test_a_huge_value_is_capped_in_bytes_by_the_server(login):
    result = _past_the_guard(login, "SELECT array_agg(g) FROM generate_series(1, 2000000) g")
    assert result["rows"] == [[None]]
    (oversized,) = result["oversized_rows"]
    assert oversized["bytes"] > 8192 and "exceeded 8192 bytes" in result["note"]
    small = _past_the_guard(login, "SELECT array_agg(g) FROM generate_series(1, 5) g")
    assert small["rows"] == [[[1, 2, 3, 4, 5]]] and "oversized_rows" not in small


def test_the_login_carries_its_own_ceilings(login):
    conn = login.connect()
    try:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("default_transaction_read_only", "statement_timeout", "temp_file_limit")
        }
    finally:
        conn.close()
    assert settings == {
        "default_transaction_read_only": "on",
        "statement_timeout": "15s",
        "temp_file_limit": "256MB",
    }


@pytest.mark.parametrize("kind", ["superuser", "member", "writer"])
def test_a_login_with_more_rights_disables_the_tool(kind, seeded_dsn, pg_admin_dsn):
    name = f"agent_test_{uuid.uuid4().hex[:10]}"
    grants = {
        "superuser": [f'CREATE ROLE "{name}" LOGIN SUPERUSER'],
        "member": [f'CREATE ROLE "{name}" LOGIN', f'GRANT pg_read_all_data TO "{name}"'],
        "writer": [f'CREATE ROLE "{name}" LOGIN', f'GRANT SELECT, INSERT ON games TO "{name}"'],
    }[kind]
    with psycopg.connect(seeded_dsn, autocommit=True) as admin:
        for statement in grants:
            admin.execute(statement)
    try:
        tool = SqlQueryTool(SqlLogin.beside(seeded_dsn, user=name))
        with pytest.raises(ToolError, match=r"SQL tool is disabled: its login .* (is|may)"):
            tool(sql="SELECT count(*) FROM games")
    finally:
        with psycopg.connect(seeded_dsn, autocommit=True) as admin:
            admin.execute(f'REVOKE ALL ON games FROM "{name}"')
        with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{name}"')
