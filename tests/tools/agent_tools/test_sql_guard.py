from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from tests.tools.agent_tools.conftest import table_fingerprint
from tools.agent_tools.base import ToolError
from tools.agent_tools.sql_guard import SqlLimits, validate_query
from tools.agent_tools.sql_session import SqlLogin
from tools.agent_tools.sql_tool import TABLE_COLUMNS, SqlQueryTool
from tools.postgres import Database

REFUSED = [
    ("DROP TABLE games", "DROP is refused"),
    ("UPDATE games SET mode = 'x'", "UPDATE is refused"),
    ("INSERT INTO games (game_id) VALUES ('x')", "INSERT is refused"),
    ("DELETE FROM trades", "DELETE is refused"),
    ("ALTER TABLE games ADD COLUMN x int", "ALTER is refused"),
    ("COPY games TO STDOUT", "COPY is refused"),
    ("CREATE TABLE x (id int)", "CREATE is refused"),
    ("GRANT ALL ON games TO PUBLIC", "GRANT is refused"),
    ("SET ROLE postgres", "SET is refused"),
    ("CALL some_procedure()", "CALL is refused"),
    ("DO $$ BEGIN DELETE FROM games; END $$", "DO is refused"),
    ("TRUNCATE games", "TRUNCATE is refused"),
    ("EXPLAIN ANALYZE DELETE FROM games", "EXPLAIN is refused"),
    ("SELECT 1; DROP TABLE games", "exactly one statement is allowed, got 2"),
    ("SELECT 1; SELECT 2", "exactly one statement is allowed, got 2"),
    ("SELECT 1 --\n; DELETE FROM games", "exactly one statement is allowed, got 2"),
    ("/* SELECT 1 */ DROP TABLE games", "DROP is refused"),
    ("WITH d AS (DELETE FROM games RETURNING *) SELECT * FROM d", "DELETE is refused"),
    ("SELECT * INTO games_copy FROM games", "SELECT INTO creates a table"),
    ("SELECT * FROM games FOR UPDATE", "FOR UPDATE/SHARE"),
    ("SELECT * FROM pg_authid", "table 'pg_authid' is not allowed"),
    ("SELECT * FROM schema_migrations", "table 'schema_migrations' is not allowed"),
    ("SELECT * FROM pg_catalog.pg_class", "table pg_catalog.pg_class is not allowed"),
    ("SELECT * FROM games g JOIN pg_roles r ON true", "table 'pg_roles' is not allowed"),
    ("SELECT (SELECT count(*) FROM pg_stat_activity)", "table 'pg_stat_activity'"),
    ('SELECT * FROM "Games"', "table 'Games' is not allowed"),
    # a WITH name hides a real table only inside its own scope
    (
        "SELECT * FROM (WITH pg_user AS (SELECT 1) SELECT * FROM pg_user) a, pg_user",
        "table 'pg_user' is not allowed",
    ),
    ("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", "table 'b' is not allowed"),
    ("SELECT pg_sleep(10)", "function pg_sleep() is refused"),
    ("SELECT * FROM pg_sleep(10)", "function pg_sleep() is refused"),
    ("SELECT pg_read_file('/etc/passwd')", "function pg_read_file() is refused"),
    ("SELECT lo_import('/etc/passwd')", "function lo_import() is refused"),
    ("SELECT dblink_exec('dbname=x', 'DROP TABLE games')", "function dblink_exec() is refused"),
    ("SELECT set_config('role', 'postgres', false)", "function set_config() is refused"),
    ("SELECT pg_terminate_backend(1)", "function pg_terminate_backend() is refused"),
    ("SELECT query_to_xml('DELETE FROM games', true, true, '')", "query_to_xml() is not on"),
    ("SELECT public.evil(1)", "function public.evil is not allowed"),
    ("SELECT 'games'::regclass", "cast to regclass is not allowed"),
    ("", "the query is empty"),
    ("SELEC * FROM games", "does not parse"),
]


@pytest.mark.parametrize(("query", "reason"), REFUSED)
def test_refused_queries_say_why(query, reason):
    with pytest.raises(ToolError, match="query_database") as info:
        validate_query(query)
    assert reason in info.value.detail


def test_permitted_select_is_normalised_and_comments_never_reach_the_server():
    text = validate_query("select count(*) from games /* ; DROP TABLE games */ -- x")
    assert text == "SELECT count(*) FROM public.games"
    assert validate_query("SELECT $$; DROP TABLE games$$ AS s FROM games") == (
        "SELECT '; DROP TABLE games' AS s FROM public.games"
    )


def test_cte_window_functions_and_casts_are_permitted():
    query = (
        "WITH r AS (SELECT mode, rug_tick, row_number() OVER (PARTITION BY mode ORDER BY "
        "ended_at DESC) AS n FROM public.games) SELECT mode, avg(rug_tick)::numeric(8,2), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY rug_tick) FROM r WHERE n <= 10 "
        "AND now() - interval '1 day' < now() GROUP BY mode"
    )
    assert validate_query(query).startswith("WITH r AS")


def _tool(db: Database, **limits) -> SqlQueryTool:
    return SqlQueryTool(SqlLogin.beside(db.dsn), SqlLimits(**limits))


def test_refusals_through_the_tool_leave_the_database_unchanged(seeded_db, seeded_dsn):
    before = table_fingerprint(seeded_dsn)
    tool = _tool(seeded_db)
    for query, reason in REFUSED:
        with pytest.raises(ToolError) as info:
            tool(sql=query)
        assert reason in str(info.value)
    assert table_fingerprint(seeded_dsn) == before


def test_permitted_select_returns_columns_and_rows(seeded_db):
    result = json.loads(
        _tool(seeded_db)(
            sql="SELECT mode, count(*) AS n, max(rug_tick) AS top FROM games "
            "WHERE rug_tick IS NOT NULL GROUP BY mode ORDER BY mode"
        )
    )
    assert result["columns"] == ["mode", "n", "top"]
    assert result["rows"] == [["classic", 4, 250], ["fast_rug", 1, 10]]
    assert result["truncated"] is False


def test_row_cap_truncates_and_says_so(seeded_db):
    tool = _tool(seeded_db, max_rows=7)
    result = json.loads(tool(sql="SELECT tick FROM ticks WHERE game_id LIKE '%2' ORDER BY tick"))
    assert result["rows"] == [[t] for t in range(7)]
    assert result["truncated"] is True
    smaller = json.loads(tool(sql="SELECT tick FROM ticks ORDER BY tick", max_rows=2))
    assert smaller["row_count"] == 2 and smaller["truncated"] is True
    with pytest.raises(ToolError, match=r"max_rows must be in \[1, 7\]"):
        tool(sql="SELECT 1", max_rows=8)


def test_statement_timeout_cancels_a_slow_query(seeded_db):
    tool = _tool(seeded_db, timeout_ms=200)
    started = time.monotonic()
    with pytest.raises(ToolError, match="200 ms statement timeout"):
        tool(sql="SELECT count(*) FROM generate_series(1, 100000000) AS a")
    assert time.monotonic() - started < 5
    # the pooled connection is clean afterwards
    assert json.loads(tool(sql="SELECT count(*) FROM games"))["rows"] == [[6]]


def test_runtime_errors_come_back_as_tool_errors(seeded_db):
    with pytest.raises(ToolError, match='column "nope" does not exist'):
        _tool(seeded_db)(sql="SELECT nope FROM games")


def test_a_missing_login_disables_the_tool_with_a_clear_error(seeded_db):
    login = SqlLogin.beside(seeded_db.dsn, user="agent_sql_that_does_not_exist")
    with pytest.raises(ToolError, match=r"SQL tool is disabled.*operator must create it"):
        SqlQueryTool(login)(sql="SELECT 1")


def test_description_names_only_real_columns(seeded_dsn):
    with psycopg.connect(seeded_dsn) as conn:
        for table, columns in TABLE_COLUMNS.items():
            rows = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,),
            ).fetchall()
            assert set(columns) == {r[0] for r in rows}, table


def test_large_output_is_cut_to_whole_rows_within_the_budget(seeded_db):
    filler = "x" * 290
    query = f"SELECT n, '{filler}' AS filler FROM generate_series(1, 150) AS n"
    raw = _tool(seeded_db)(sql=query)
    assert len(raw) <= 20_000
    result = json.loads(raw)
    assert result["truncated"] is True and "output cut to" in result["note"]
    assert 0 < result["row_count"] == len(result["rows"]) < 150
    assert result["rows"][-1][0] == result["row_count"]  # whole rows, in order


def test_shared_tool_answers_concurrent_calls(seeded_db):
    tool = _tool(seeded_db)
    queries = [f"SELECT count(*) FROM ticks WHERE tick < {n}" for n in range(1, 13)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda q: json.loads(tool(sql=q))["rows"][0][0], queries))
    # ticks 0..n-1 exist in g1 (3 ticks), g2 (50) and g3 (120)
    assert answers == [sum(min(n, k) for k in (3, 50, 120)) for n in range(1, 13)]


MIGRATION = Path(__file__).parents[3] / "tools" / "sql" / "0008_agent_reader_role.sql"


def test_migration_without_role_privileges_skips_with_a_notice(pg_admin_dsn, seeded_dsn):
    """Run 0008's SQL for a fresh role name as a user that may not create roles."""
    role = f"agent_reader_{uuid.uuid4().hex[:8]}"
    user = f"agent_test_{uuid.uuid4().hex[:10]}"
    sql_text = MIGRATION.read_text().replace("agent_reader", role)
    with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{user}" LOGIN')
    notices: list[str] = []
    try:
        with psycopg.connect(psycopg.conninfo.make_conninfo(seeded_dsn, user=user)) as conn:
            conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
            conn.execute(sql_text)
            exists = conn.execute("SELECT to_regrole(%s)", (role,)).fetchone()[0]
        assert exists is None
        assert any(f"role {role} not created" in n and "operator" in n for n in notices)
    finally:
        with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{user}"')


def test_with_queries_and_set_operations_run(seeded_db):
    result = json.loads(
        _tool(seeded_db)(
            sql="WITH done AS (SELECT mode, rug_tick FROM games WHERE rug_tick IS NOT NULL) "
            "SELECT mode, sum(rug_tick) FROM done GROUP BY mode "
            "UNION ALL SELECT 'all', sum(rug_tick) FROM done ORDER BY 1"
        )
    )
    assert result["rows"] == [["all", 433], ["classic", 423], ["fast_rug", 10]]
