from __future__ import annotations

import json
import time
import uuid

import pika
import pytest

from agent_service.cli.game import QueuePublisher
from game.rules import available_modes
from tests.support.process import cli_env, run_cli


def test_simulate_writes_a_recording_and_its_truth(tmp_path):
    out, truth = tmp_path / "r.jsonl", tmp_path / "r.json"
    args = ["simulate", "--games", "3", "--seed", "5", "--mode", "rising_hazard", "--players", "8"]
    result = run_cli(*args, "--out", str(out), "--truth", str(truth), env=cli_env())
    assert result.returncode == 0, result.stderr
    assert "3/3 games" in result.stderr and "simulated 3 rising_hazard games" in result.stdout
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    facts = json.loads(truth.read_text())
    assert facts["mode"] == "rising_hazard" and len(facts["games"]) == 3
    assert {x["data"]["gameId"] for x in lines if x["event"] == "gameStateUpdate"} >= set(
        facts["games"]
    )
    again = tmp_path / "again.jsonl"
    assert run_cli(*args, "--out", str(again), env=cli_env()).returncode == 0
    assert again.read_bytes() == out.read_bytes()


def test_simulate_reports_bad_input_clearly(tmp_path):
    bad = tmp_path / "mode.toml"
    bad.write_text('extends = "classic"\nrug_prob = 2\n')
    result = run_cli("simulate", "--games", "1", "--mode", str(bad), "--out", "x", env=cli_env())
    assert result.returncode != 0 and f"{bad}:2: key 'rug_prob'" in result.stderr
    result = run_cli("simulate", "--games", "1", "--mode", "nope", "--out", "x", env=cli_env())
    assert "unknown mode 'nope'" in result.stderr
    result = run_cli("simulate", "--games", "1", env=cli_env())
    assert result.returncode == 2 and "--out FILE, --publish" in result.stderr


@pytest.fixture
def temp_queue(amqp_url):
    name = f"sim-test-{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.queue_declare(queue=name, auto_delete=False, exclusive=False)
    yield channel, name
    channel.queue_delete(queue=name)
    connection.close()


def _drain(channel, queue):
    bodies = []
    while (message := channel.basic_get(queue=queue, auto_ack=True))[0] is not None:
        bodies.append(message[2])
    return bodies


def test_publish_delivers_the_same_lines_to_rabbitmq(tmp_path, amqp_url, temp_queue):
    channel, queue = temp_queue
    out = tmp_path / "p.jsonl"
    result = run_cli(
        "simulate", "--games", "2", "--seed", "8", "--players", "6", "--out", str(out),
        "--publish", "--queue", queue, "--speed", "0",
        env=cli_env(AMQP_URL=amqp_url),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    bodies = _drain(channel, queue)
    assert [b.decode() for b in bodies] == out.read_text().splitlines()
    assert amqp_url not in result.stdout + result.stderr


@pytest.mark.parametrize(("speed", "low", "high"), [(10.0, 0.38, 1.5), (0.0, 0.0, 0.3)])
def test_publish_paces_by_the_event_timestamps(amqp_url, temp_queue, speed, low, high):
    channel, queue = temp_queue
    publisher = QueuePublisher(amqp_url, queue, declare=False, speed=speed)
    started = time.monotonic()
    for n, ts in enumerate([5_000, 6_000, 7_000, 9_000]):  # 4 s of stream time
        publisher.publish(json.dumps({"seq": n}), ts)
    elapsed = time.monotonic() - started
    publisher.close()
    assert low <= elapsed <= high
    assert [json.loads(b)["seq"] for b in _drain(channel, queue)] == [0, 1, 2, 3]


def test_publish_does_not_declare_queues_unless_asked(amqp_url):
    queue = f"sim-missing-{uuid.uuid4().hex[:8]}"
    args = ["simulate", "--games", "1", "--players", "2", "--publish", "--speed", "0"]
    result = run_cli(*args, "--amqp-url", amqp_url, "--queue", queue, env=cli_env())
    assert result.returncode == 1 and f"queue '{queue}' does not exist" in result.stderr
    result = run_cli(*args, "--amqp-url", amqp_url, "--queue", queue, "--declare", env=cli_env())
    try:
        assert result.returncode == 0, result.stderr
    finally:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        channel = connection.channel()
        assert channel.queue_declare(queue=queue, passive=True).method.message_count > 0
        channel.queue_delete(queue=queue)
        connection.close()


def test_simulate_has_help():
    result = run_cli("simulate", "--help", env=cli_env())
    assert result.returncode == 0 and "--publish" in result.stdout
    help_text = " ".join(result.stdout.split())
    assert all(mode in help_text for mode in available_modes())  # the help names every mode
