"""`agent-service consume` as a real process: SIGKILL mid-stream then a restart loses and
duplicates nothing; SIGTERM commits the batch in hand, acknowledges it and exits 0."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
import requests

from tests.support.amqp import Topology
from tests.support.process import cli_env, run_cli, start_cli
from tests.support.protocol_stream import expected_counts, stored_counts, stored_rug_ticks, stream
from tests.support.tcp_proxy import free_port


@pytest.fixture
def topology(amqp_url):
    declared = Topology(amqp_url, prefix="cli").declare()
    yield declared
    declared.close()


def _env(dsn: str, tmp_path, amqp_url: str) -> dict[str, str]:
    return cli_env(
        DATABASE_URL=dsn, AMQP_URL=amqp_url, AGENT_DATA_DIR=str(tmp_path), AGENT_LOG_LEVEL="INFO"
    )


def _args(topology: Topology, *extra: str) -> list[str]:
    return [
        "consume",
        "--queue",
        topology.queue,
        "--dead-letter-exchange",
        topology.dead_letter_exchange,
        "--batch-size",
        "20",
        "--prefetch",
        "40",
        "--batch-wait",
        "0.05",
        *extra,
    ]


def _wait_stored(dsn: str, proc: subprocess.Popen[str], at_least: int, within: float) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the consumer exited early"
        try:
            stored = stored_counts(dsn)["websocket_events"]
        except Exception:  # tables not migrated yet
            stored = 0
        if stored >= at_least:
            return stored
        time.sleep(0.02)
    raise TimeoutError(f"fewer than {at_least} events stored within {within} s")


def _scrape(port: int, name: str) -> float:
    deadline = time.monotonic() + 10
    while True:
        try:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            value = next(
                float(line.split()[1]) for line in text.splitlines() if line.startswith(name)
            )
            if value > 0 or time.monotonic() > deadline:
                return value
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def _log_entries(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_sigkill_mid_stream_then_restart_loses_and_duplicates_nothing(
    topology, fresh_pg_dsn, amqp_url, tmp_path
):
    messages, expected = stream(12)
    topology.publish(*messages)
    env = _env(fresh_pg_dsn, tmp_path, amqp_url)

    proc = start_cli(*_args(topology), env=env, log=tmp_path / "first.log")
    try:
        stored = _wait_stored(fresh_pg_dsn, proc, 1, 30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert stored < len(messages), "killed too late to be mid-stream"

    second = run_cli(*_args(topology, "--exit-when-idle", "0.5"), env=env, timeout=60, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert stored_counts(fresh_pg_dsn) == expected_counts(expected)
    assert stored_rug_ticks(fresh_pg_dsn) == expected.games
    assert topology.depth() == 0
    assert topology.depth(topology.dead_letter_queue) == 0
    final = [e for e in second.stdout.splitlines() if '"consumer stopped"' in e]
    assert final and json.loads(final[-1])["redelivered"] > 0  # it held unacked messages


def test_sigterm_commits_the_batch_in_hand_acks_it_and_exits_zero(
    topology, fresh_pg_dsn, amqp_url, tmp_path
):
    messages, _ = stream(12)
    topology.publish(*messages)
    log = tmp_path / "consumer.log"
    port = free_port()
    args = _args(topology, "--metrics-port", str(port))
    proc = start_cli(*args, env=_env(fresh_pg_dsn, tmp_path, amqp_url), log=log)
    try:
        _wait_stored(fresh_pg_dsn, proc, 1, 30)
        assert _scrape(port, "agent_consumer_batches_total") >= 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    stored = stored_counts(fresh_pg_dsn)["websocket_events"]
    # every message is either committed and acknowledged, or back in the queue: never both
    topology.wait_depth(len(messages) - stored)
    entries = _log_entries(log)
    stopped = [e for e in entries if e["message"] == "consumer stopped"]
    assert stopped and stopped[-1]["received"] == stored


def test_a_missing_queue_without_declare_exits_1_with_a_hint(fresh_pg_dsn, amqp_url, tmp_path):
    missing = Topology(amqp_url, prefix="cli")  # names only
    try:
        result = run_cli(*_args(missing), env=_env(fresh_pg_dsn, tmp_path, amqp_url), timeout=60)
    finally:
        missing.close()
    assert result.returncode == 1
    assert missing.queue in result.stderr and "--declare" in result.stderr


def test_without_a_broker_url_it_refuses_to_start(tmp_path):
    result = run_cli("consume", env=cli_env(AGENT_DATA_DIR=str(tmp_path)))
    assert result.returncode == 1
    assert "AMQP_URL" in result.stderr


def test_prefetch_below_batch_size_is_refused_before_connecting(tmp_path):
    env = cli_env(
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
        AMQP_URL="amqp://guest:guest@127.0.0.1:1/%2F",
        AGENT_DATA_DIR=str(tmp_path),
    )
    result = run_cli("consume", "--batch-size", "100", "--prefetch", "10", env=env)
    assert result.returncode == 1
    assert "prefetch (10) must be >= batch size (100)" in result.stderr


def test_help():
    result = run_cli("consume", "--help", env=cli_env())
    assert result.returncode == 0
    assert "--declare" in result.stdout and "--exit-when-idle" in result.stdout
