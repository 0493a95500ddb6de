from __future__ import annotations

import pytest

from tests.support.process import cli_env, run_cli
from tests.support.tcp_proxy import free_port

SUBCOMMANDS = [[], ["serve"], ["check"], ["db"], ["db", "migrate"], ["openapi"]]


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: " ".join(a) or "main")
def test_every_subcommand_has_help(args):
    result = run_cli(*args, "--help", env=cli_env())
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_check_passes_with_external_postgres(tmp_path, pg_dsn):
    env = cli_env(DATABASE_URL=pg_dsn, AGENT_DATA_DIR=str(tmp_path))
    result = run_cli("check", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "postgres" in result.stdout and "up" in result.stdout
    assert "rabbitmq  disabled" in result.stdout


def test_check_fails_when_a_required_backend_is_down(tmp_path, pg_dsn, amqp_url):
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    env = cli_env(
        DATABASE_URL=pg_dsn, AMQP_URL=dead, AGENT_DATA_DIR=str(tmp_path), AGENT_CHECK_TIMEOUT_S="1"
    )
    result = run_cli("check", env=env)
    assert result.returncode == 1
    assert "rabbitmq  down" in result.stdout


def test_bad_setting_is_named(tmp_path):
    result = run_cli("check", env=cli_env(AGENT_PORT="many", AGENT_DATA_DIR=str(tmp_path)))
    assert result.returncode != 0
    assert "AGENT_PORT" in result.stderr


def test_db_migrate_twice(fresh_pg_dsn, tmp_path):
    env = cli_env(DATABASE_URL=fresh_pg_dsn, AGENT_DATA_DIR=str(tmp_path))
    first = run_cli("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    second = run_cli("db", "migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "schema is up to date"


def test_openapi_command_writes_the_document(tmp_path):
    out = tmp_path / "spec.yaml"
    result = run_cli("openapi", "--out", str(out), env=cli_env())
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("openapi: 3.1.0")
