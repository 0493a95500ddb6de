from __future__ import annotations

import uuid

import psycopg
import pytest

from tools.migrations import Migration, MigrationError, applied_versions, discover, migrate


def test_shipped_migrations_apply_to_an_empty_database_then_no_op(fresh_pg_dsn):
    with psycopg.connect(fresh_pg_dsn) as conn:
        first = migrate(conn)
        assert first == [f"{m.version:04d}_{m.name}" for m in discover()]
        assert migrate(conn) == []
        assert applied_versions(conn) == [m.version for m in discover()]


def test_edited_migration_is_refused(fresh_pg_dsn):
    original = Migration(9001, "t", "CREATE TABLE t_a (id int);")
    with psycopg.connect(fresh_pg_dsn) as conn:
        migrate(conn, [original])
        with pytest.raises(MigrationError, match="changed after it was applied"):
            migrate(conn, [Migration(9001, "t", "CREATE TABLE t_b (id int);")])


def test_failed_migration_leaves_nothing_behind(fresh_pg_dsn):
    good = Migration(9001, "good", "CREATE TABLE t_good (id int);")
    bad = Migration(9002, "bad", "CREATE TABLE t_bad (id int); SELECT no_such_function();")
    with psycopg.connect(fresh_pg_dsn) as conn:
        with pytest.raises(MigrationError, match="9002_bad failed"):
            migrate(conn, [good, bad])
        assert applied_versions(conn) == [9001]
        exists = conn.execute("SELECT to_regclass('t_bad')").fetchone()[0]
        assert exists is None


def test_no_transaction_migration_runs_outside_a_transaction(fresh_pg_dsn):
    # CREATE DATABASE refuses to run inside a transaction block
    name = "agent_mig_nt_" + uuid.uuid4().hex[:10]
    sql = f"-- migrate: no-transaction\nCREATE DATABASE {name};"
    with psycopg.connect(fresh_pg_dsn) as conn:
        assert migrate(conn, [Migration(9003, "nt", sql)]) == ["9003_nt"]
        conn.execute(f"DROP DATABASE {name}")


def test_badly_named_file_is_reported(tmp_path):
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        discover(tmp_path)
