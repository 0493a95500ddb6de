"""`agent-service consume` verifies rounds as their seeds are revealed, off its path:
seedrandom rounds verify, one tampered on the wire is marked and announced."""

from __future__ import annotations

import json

import psycopg
import pytest

from game.recording import RecordingOptions, write_recording
from game.rules import load_mode
from tests.support.amqp import Topology
from tests.support.process import cli_env, run_cli


@pytest.fixture
def topology(amqp_url):
    declared = Topology(amqp_url, prefix="liveverify").declare()
    yield declared
    declared.close()


@pytest.fixture
def events(amqp_url):
    listener = Topology(amqp_url, prefix="liveevents")
    yield listener, listener.bind_exchange("game.#")
    listener.close()


def test_the_consumer_verifies_revealed_rounds_and_announces_a_tampered_one(
    topology, events, fresh_pg_dsn, amqp_url, tmp_path
):
    out = tmp_path / "fair.jsonl"
    options = RecordingOptions(prng="seedrandom", leaderboard_size=0)
    write_recording(load_mode("classic"), 4, 12, out, n_players=3, options=options)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    ticks = [
        x for x in lines
        if x["event"] == "gameStateUpdate" and x["data"]["active"] and not x["data"]["rugged"]
    ]  # fmt: skip
    victim = ticks[-1]["data"]["gameId"]  # the last round: its last tick's price moved
    ticks[-1]["data"]["price"] *= 1.01
    ticks[-1]["data"].pop("partialPrices")
    topology.publish(*lines)
    listener, exchange = events
    env = cli_env(
        DATABASE_URL=fresh_pg_dsn,
        AMQP_URL=amqp_url,
        AGENT_DATA_DIR=str(tmp_path),
        AGENT_AMQP_EVENTS_EXCHANGE=exchange,
        AGENT_CONSUME_VERIFY_INTERVAL_S="0.2",
    )
    args = ["consume", "--queue", topology.queue, "--dead-letter-exchange",
            topology.dead_letter_exchange, "--exit-when-idle", "2"]  # fmt: skip
    done = run_cli(*args, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    with psycopg.connect(fresh_pg_dsn) as conn:
        verdicts = dict(
            conn.execute("SELECT game_id, replay_ok FROM games WHERE server_seed IS NOT NULL")
        )
    assert len(verdicts) == 4 and verdicts.pop(victim) is False
    assert all(verdicts.values())
    announced = [json.loads(body) for _, body in listener.drain(listener.queue)]
    assert [(a["game_id"], a["replay_ok"]) for a in announced] == [(victim, False)]
